"""The keys a spec author writes, declared once, as the pydantic model `SpecFrontMatter`.

Three things read this one declaration so they cannot drift apart: the JSON Schema that `spec2prod schema`
prints (for editors and CI), the parser's table of keys and their aliases (front-matter keys and the body's
bold labels alike), and the "did you mean" suggestion for a key it does not know. Defaults are taken from
`ComponentSpec` itself, so the schema shows what a spec that leaves a key out really gets.

The model describes the canonical form: the parser also reads keys in any case and with spaces or hyphens
(`Component ID`) and thresholds in prose ("at least 80%"). The schema catches a misspelt key, a wrong type or
an unknown choice in an editor or CI; a few rules only the parser can check (a path that leaves the project,
a threshold that looks like a fraction, a dependency pip cannot read), so `spec2prod validate` has the last
word.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, JsonValue
from pydantic.json_schema import SkipJsonSchema

from spec2prod_assets.spec.items import KINDS, PRIORITIES
from spec2prod_assets.spec.model import (
    MAX_SLUG_CHARS,
    SLUG_PATTERN,
    ComponentSpec,
    CoverageKind,
    QualityGates,
    Stage,
    clipped,
)

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Keys of the author's own (`x-jira: BILL-12`): kept out of the way instead of refused.
EXTENSION_PREFIXES = ("x-", "x_")
STAGE_SPELLINGS = {
    "dev": Stage.DEV,
    "development": Stage.DEV,
    "staging": Stage.STAGING,
    "stage": Stage.STAGING,
    "production": Stage.PRODUCTION,
    "prod": Stage.PRODUCTION,
}
# How close an unknown front-matter key must be to a known one to be suggested as what was meant.
KEY_SUGGESTION_CUTOFF = 0.6

# A percentage written as text: `80`, `80%`, `85.5 %`.
_PERCENT_PATTERN = r"^\s*\d+(\.\d+)?\s*%?\s*$"
_GATES = QualityGates.model_fields
_SPEC = ComponentSpec.model_fields


def _enum(names: Iterable[str]) -> Any:
    values: list[JsonValue] = [*names]
    return Field(json_schema_extra={"enum": values})


_ItemId = Annotated[str | int, Field(description="FR-1, NFR-2, AC-3...; given out in order when absent.")]
_ItemText = Annotated[str, Field(min_length=1, description="The requirement or criterion, as Markdown.")]
_IdAndText = Annotated[
    dict[str, str],
    Field(min_length=1, max_length=1, description="`FR-1: text` written unquoted: one id and its text."),
]


class RequirementEntry(BaseModel):
    """A requirement written as a mapping; a plain string (`"FR-1: Add two numbers (Must)"`) also works."""

    model_config = ConfigDict(extra="forbid", title="Requirement")

    id: _ItemId | None = None
    text: _ItemText
    kind: Annotated[str, _enum([*KINDS, "non-functional"])] | None = Field(
        default=None, description="Default: from the id (NFR-... is non-functional), else functional."
    )
    priority: Annotated[str, _enum(list(PRIORITIES))] | None = Field(
        default=None, description="Default: must."
    )


class CriterionEntry(BaseModel):
    """An acceptance criterion written as a mapping; a plain string also works."""

    model_config = ConfigDict(extra="forbid", title="AcceptanceCriterion")

    id: _ItemId | None = None
    text: _ItemText


class SpecFrontMatter(BaseModel):
    """The YAML front matter of a spec: every key optional, as long as the spec as a whole names the
    component (here or as the body's `# Title`) and lists at least one requirement (here or in the body)."""

    model_config = ConfigDict(
        extra="forbid",
        title="spec2prod spec front matter",
        json_schema_extra={
            "patternProperties": {
                "^[xX][-_]": {"description": "Your own keys (x-jira, x_team...); spec2prod ignores them."}
            }
        },
    )

    name: str | SkipJsonSchema[None] = Field(
        default=None,
        min_length=1,
        description="The component's name. Default: the body's '# Title'.",
        validation_alias=AliasChoices("name", "component", "component_name"),
    )
    slug: Annotated[str, Field(pattern=SLUG_PATTERN, max_length=MAX_SLUG_CHARS)] | SkipJsonSchema[None] = (
        Field(
            default=None,
            description="The component id: the partition key and default folder name. Default: the name, "
            "lower-cased, words joined by '_'.",
            validation_alias=AliasChoices("slug", "component_id", "id"),
        )
    )
    version: Annotated[str, Field(min_length=1)] | int | float = Field(
        default=_SPEC["version"].default,
        description="The component's version, kept as written (1.10 stays 1.10).",
        validation_alias=AliasChoices("version"),
    )
    summary: str | SkipJsonSchema[None] = Field(
        default=None,
        min_length=1,
        description="One paragraph on what the component is for. Default: the first paragraph of the "
        "body's '## Overview', else the first paragraph under the title.",
        validation_alias=AliasChoices("summary", "description"),
    )
    source_path: str | SkipJsonSchema[None] = Field(
        default=None,
        min_length=1,
        description="The component's code, relative to the project root. Default: src/<slug>.",
        validation_alias=AliasChoices(
            "source_path", "source", "source_dir", "source_directory", "src", "src_dir"
        ),
    )
    tests_path: str | SkipJsonSchema[None] = Field(
        default=None,
        min_length=1,
        description="The component's tests, relative to the project root. Default: found the way pytest "
        "finds them (the project's testpaths, tests/<slug>, tests/, test_*.py next to the code).",
        validation_alias=AliasChoices(
            "tests_path", "test_path", "tests", "tests_dir", "test_dir", "tests_directory", "test_directory"
        ),
    )
    target_stage: Annotated[str, _enum(list(STAGE_SPELLINGS))] = Field(
        default=_SPEC["target_stage"].default.value,
        description="How far the component goes by default: dev, staging or production.",
        validation_alias=AliasChoices("target_stage", "stage"),
    )
    coverage_threshold: (
        Annotated[float, Field(ge=0, le=100)] | Annotated[str, Field(pattern=_PERCENT_PATTERN)]
    ) = Field(
        default=_GATES["coverage_threshold_pct"].default,
        description="The release's minimum coverage in percent (80 or '80%'); a fraction such as 0.8 is "
        "refused, write 80.",
        validation_alias=AliasChoices(
            "coverage_threshold",
            "coverage",
            "minimum_coverage",
            "min_coverage",
            "coverage_target",
            "coverage_goal",
            "test_coverage",
        ),
    )
    coverage_kind: CoverageKind = Field(
        default=_GATES["coverage_kind"].default,
        description="Which coverage the threshold applies to: line (statements) or branch (statements "
        "and branches together, as coverage.py totals them with branch measurement on).",
        validation_alias=AliasChoices("coverage_kind", "coverage_type"),
    )
    lint_clean: bool = Field(
        default=_GATES["lint_clean"].default,
        description="true: the release must have no lint violations at all. false: the refactor may not "
        "add any (existing ones do not block the release).",
        validation_alias=AliasChoices("lint_clean"),
    )
    mutation_score: (
        Annotated[float, Field(ge=0, le=100)]
        | Annotated[str, Field(pattern=_PERCENT_PATTERN)]
        | SkipJsonSchema[None]
    ) = Field(
        default=_GATES["mutation_score_pct"].default,
        description="The lowest mutation score the release accepts, in percent (60 or '60%'): the share "
        "of mutants the tests kill. Default: no mutation gate. A fraction such as 0.6 is refused, write 60.",
        validation_alias=AliasChoices(
            "mutation_score", "mutation_threshold", "min_mutation_score", "minimum_mutation_score"
        ),
    )
    criteria_tested: bool = Field(
        default=_GATES["criteria_tested"].default,
        description="true: every acceptance criterion needs at least one passing test that claims its id "
        "(@pytest.mark.spec('AC-1') or the id in the test's docstring). false: untested criteria are "
        "reported but do not block the release.",
        validation_alias=AliasChoices("criteria_tested"),
    )
    allow_no_tests: bool = Field(
        default=_SPEC["allow_no_tests"].default,
        description="true: a component with no tests of its own may still be released (the baseline "
        "still warns). false: finding no tests fails the release.",
        validation_alias=AliasChoices("allow_no_tests"),
    )
    owners: str | list[str] = Field(
        default=_SPEC["owners"].default,
        description="Who owns the component: a name, 'a, b', or a list; shown in reports.",
        validation_alias=AliasChoices("owners", "owner", "component_owner", "maintainers", "maintainer"),
    )
    dependencies: list[str] = Field(
        default=_SPEC["dependencies"].default,
        description="Third-party packages the component needs, as PEP 508 requirements "
        "('requests>=2.31'), on top of the project's own.",
        validation_alias=AliasChoices("dependencies", "deps"),
    )
    requirements: list[str | RequirementEntry | _IdAndText] = Field(
        default=[],
        description="Functional and non-functional requirements.",
        validation_alias=AliasChoices("requirements"),
    )
    acceptance_criteria: list[str | CriterionEntry | _IdAndText] = Field(
        default=_SPEC["acceptance_criteria"].default,
        description="Checks that show a requirement is met; ids AC-1, AC-2... when not given.",
        validation_alias=AliasChoices("acceptance_criteria"),
    )
    api: list[str] = Field(
        default=_SPEC["api"].default,
        description="The public API, one signature per entry.",
        validation_alias=AliasChoices("api", "public_api"),
    )


def _spellings(model: type[BaseModel]) -> dict[str, str]:
    """Every accepted spelling of every key (as `label_words` reads it) -> the key it means."""
    table: dict[str, str] = {}
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [name]
        for choice in choices:
            table[label_words(str(choice))] = name
    return table


def label_words(label: str) -> str:
    """`Component ID`, `component_id` and `component-id` all read as "component id"."""
    return " ".join(label.casefold().replace("_", " ").replace("-", " ").split())


# "component id" -> "slug", "source dir" -> "source_path"...: the front matter's keys and the body's labels.
KEY_SPELLINGS: dict[str, str] = _spellings(SpecFrontMatter)
KEYS: tuple[str, ...] = tuple(SpecFrontMatter.model_fields)
REQUIREMENT_ENTRY_KEYS: tuple[str, ...] = tuple(RequirementEntry.model_fields)
CRITERION_ENTRY_KEYS: tuple[str, ...] = tuple(CriterionEntry.model_fields)


def is_extension_key(key: str) -> bool:
    return key.casefold().startswith(EXTENSION_PREFIXES)


def closest_key(key: str, known: Sequence[str], cutoff: float) -> str | None:
    """The known spelling `key` is most likely a typo of, compared as label words, or None."""
    words = {label_words(name): name for name in known}
    found = difflib.get_close_matches(label_words(key), list(words), n=1, cutoff=cutoff)
    return words[found[0]] if found else None


def _did_you_mean(key: str, known: Sequence[str]) -> str | None:
    suggestion = closest_key(key, known, KEY_SUGGESTION_CUTOFF)
    return None if suggestion is None else f"did you mean {suggestion.replace(' ', '_')!r}?"


def unknown_front_matter_key_problem(key: str) -> str:
    """`unknown key 'coverge_threshold'; did you mean 'coverage_threshold'?`, or the keys there are."""
    hint = _did_you_mean(key, [spelling.replace(" ", "_") for spelling in KEY_SPELLINGS])
    if hint is None:
        hint = f"the keys are: {', '.join(KEYS)} (your own keys start with 'x-')"
    return f"unknown key {clipped(key, 60)!r}; {hint}"


def unknown_entry_key_problem(key: str, known: Sequence[str], what: str) -> str:
    """The same for a key inside a requirements or acceptance_criteria entry."""
    hint = _did_you_mean(key, known) or f"use {', '.join(known)}"
    return f"unknown key {clipped(key, 60)!r} in this {what} entry; {hint}"


def label_case(words: str) -> str:
    """The words "component id" as a body label is written: "Component ID"."""
    return " ".join(word.upper() if word in ("id", "api") else word.capitalize() for word in words.split())


def spec_json_schema() -> dict[str, Any]:
    """The front matter's JSON Schema (draft 2020-12), generated from `SpecFrontMatter`.

    Each alias becomes a property of its own that says which key it stands for, so the schema accepts
    exactly the spellings the parser does (in their snake_case form) and refuses every other key.
    """
    schema = SpecFrontMatter.model_json_schema(by_alias=True)
    properties: dict[str, Any] = schema["properties"]
    for prop in properties.values():
        if "default" in prop and prop["default"] is None:  # such a default is said in the description
            del prop["default"]
    for spelling, key in KEY_SPELLINGS.items():
        alias = spelling.replace(" ", "_")
        if alias != key:
            same = copy.deepcopy(properties[key])
            same.pop("default", None)
            same["title"] = alias
            same["description"] = f"Same as '{key}'."
            properties[alias] = same
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}
