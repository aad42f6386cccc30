"""What a spec says before it is validated, and how that becomes a `ComponentSpec`.

Front matter and body are read into one `Draft`, each value with the line it came from, so a value
given twice with different contents, or one that fails validation at the end, is reported at its own
line whichever of the two readers found it. The final assembly lives here too: ids can only be given
out, and defaults only filled in, once everything has been read. (The coercions both readers share are in
`field_values`.)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import ValidationError

from spec2prod_assets.spec.items import Item
from spec2prod_assets.spec.model import (
    AcceptanceCriterion,
    ComponentSpec,
    Priority,
    QualityGates,
    Requirement,
    RequirementKind,
    SpecError,
    Stage,
    control_character_problem,
    slugify,
)


@dataclass(frozen=True)
class Located:
    value: Any
    line: int


@dataclass
class Draft:
    """Everything gathered from front matter and body, each value with the line it came from."""

    path: str
    fields: dict[str, Located] = field(default_factory=dict)
    title: Located | None = None
    overview: str | None = None
    preamble: str | None = None
    requirements: list[Item] = field(default_factory=list)
    requirements_heading_line: int | None = None
    acceptance: list[Item] = field(default_factory=list)
    api: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)

    def error(self, problem: str, line: int | None = None) -> SpecError:
        return SpecError(self.path, problem, line)

    def set(self, key: str, value: Any, line: int, *, hint: str = "") -> None:
        """Record a field; the same field twice with different values is an error, not a silent winner."""
        previous = self.fields.get(key)
        if previous is not None and previous.value != value:
            raise self.error(
                f"{_title(key)} is given twice with different values: "
                f"{_shown(previous.value)} (line {previous.line}) and {_shown(value)}"
                + (f"; {hint}" if hint else ""),
                line,
            )
        if previous is None:
            self.fields[key] = Located(value, line)


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return repr(", ".join(map(str, value)))
    return repr(value.value if isinstance(value, Enum) else value)


def _title(key: str) -> str:
    return key.replace("_", " ")


# ---------------------------------------------------------------- assembling the model


def _assign_ids(items: Sequence[Item], prefix: str, what: str, draft: Draft) -> list[str]:
    """Reject a repeated id at its second use, then number id-less items with the first free ids."""
    first_seen: dict[str, int] = {}
    for item in items:
        if item.id is None:
            continue
        key = item.id.casefold()
        if key in first_seen:
            raise draft.error(
                f"duplicate {what} id {item.id} (first used at line {first_seen[key]})", item.line
            )
        first_seen[key] = item.line
    numbers = itertools.count(1)
    ids = []
    for item in items:
        item_id = item.id or next(
            candidate
            for candidate in (f"{prefix}-{number}" for number in numbers)
            if candidate.casefold() not in first_seen
        )
        ids.append(item_id)
    return ids


def build_spec(draft: Draft, sha256: str) -> ComponentSpec:
    """The model, once everything is read: defaults filled in, ids given out, the model's own checks last."""
    name = _name(draft)
    slug = draft.fields.get("slug") or Located(slugify(name.value), name.line)
    if not slug.value:
        raise draft.error(f"cannot make a component id from the name {name.value!r}; give one", name.line)
    requirements = _requirements(draft)
    acceptance = _acceptance_criteria(draft)
    summary = draft.fields.get("summary")
    lines = {key: located.line for key, located in draft.fields.items()} | {"name": name.line}
    lines["slug"] = slug.line
    try:
        return ComponentSpec(
            name=name.value,
            slug=slug.value,
            version=_field_or(draft, "version", "0.1.0"),
            summary=summary.value if summary else draft.overview or draft.preamble or "",
            requirements=requirements,
            acceptance_criteria=acceptance,
            api=tuple(dict.fromkeys(draft.api)),
            quality_gates=_quality_gates(draft),
            source_path=_field_or(draft, "source_path", f"src/{slug.value}"),
            tests_path=_field_or(draft, "tests_path", None),
            allow_no_tests=_field_or(draft, "allow_no_tests", False),
            dependencies=tuple(dict.fromkeys(draft.dependencies)),
            owners=_field_or(draft, "owners", ()),
            target_stage=_field_or(draft, "target_stage", Stage.STAGING),
            spec_path=draft.path,
            spec_sha256=sha256,
        )
    except ValidationError as exc:
        raise _spec_error_from(exc, draft, lines) from None


def _quality_gates(draft: Draft) -> QualityGates:
    """Only what the spec says; the rest is `QualityGates`' own defaults."""
    given = {
        gate: draft.fields[key].value
        for key, gate in (
            ("coverage_threshold", "coverage_threshold_pct"),
            ("coverage_kind", "coverage_kind"),
            ("lint_clean", "lint_clean"),
            ("mutation_score", "mutation_score_pct"),
            ("criteria_tested", "criteria_tested"),
        )
        if key in draft.fields
    }
    return QualityGates(**given)


def _field_or(draft: Draft, key: str, default: Any) -> Any:
    located = draft.fields.get(key)
    return located.value if located else default


def _name(draft: Draft) -> Located:
    """A `name` field wins over the title: a title may say more than the name ("X: a tiny example")."""
    if "name" in draft.fields:
        return draft.fields["name"]
    if draft.title is not None and draft.title.value:
        return draft.title
    raise draft.error(
        "the component has no name: start the spec with a '# <Name>' title "
        "or give 'name:' in the front matter",
        draft.title.line if draft.title else None,
    )


def _requirements(draft: Draft) -> tuple[Requirement, ...]:
    if not draft.requirements:
        if draft.requirements_heading_line is not None:
            raise draft.error(
                "the requirements section lists no requirements; add bullets such as '- FR-1: ...'",
                draft.requirements_heading_line,
            )
        raise draft.error(
            "no requirements: add a '## Requirements' section with bullets such as '- FR-1: ...' "
            "or a 'requirements' list in the front matter"
        )
    ids = _assign_ids(draft.requirements, "R", "requirement", draft)
    for item, item_id in zip(draft.requirements, ids, strict=True):
        if not item.text:
            raise draft.error(f"requirement {item_id} has no text", item.line)
        _check_item_text(item, f"requirement {item_id}", draft)
    return tuple(
        Requirement(
            id=item_id,
            text=item.text,
            kind=item.kind or RequirementKind.FUNCTIONAL,
            priority=item.priority or Priority.MUST,
        )
        for item, item_id in zip(draft.requirements, ids, strict=True)
    )


def _acceptance_criteria(draft: Draft) -> tuple[AcceptanceCriterion, ...]:
    ids = _assign_ids(draft.acceptance, "AC", "acceptance criterion", draft)
    for item, item_id in zip(draft.acceptance, ids, strict=True):
        if not item.text:
            raise draft.error(f"acceptance criterion {item_id} has no text", item.line)
        _check_item_text(item, f"acceptance criterion {item_id}", draft)
    return tuple(
        AcceptanceCriterion(id=item_id, text=item.text)
        for item, item_id in zip(draft.acceptance, ids, strict=True)
    )


def _check_item_text(item: Item, what: str, draft: Draft) -> None:
    """Control characters fail at the item's own line (the model would only say which field)."""
    problem = control_character_problem(f"{item.id or ''} {item.text}")
    if problem:
        raise draft.error(f"{what} {problem}", item.line)


def _spec_error_from(exc: ValidationError, draft: Draft, lines: dict[str, int]) -> SpecError:
    """The model's own checks (the slug's form, say) are the last line of defence; keep their line too."""
    error = exc.errors()[0]
    location = [str(part) for part in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    problem = message if error["type"] == "value_error" else f"{'.'.join(location)}: {message}"
    return draft.error(problem, lines.get(location[0]) if location else None)
