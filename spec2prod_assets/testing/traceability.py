"""Each acceptance criterion and requirement of a spec, next to the tests that claim it and how they did.

A criterion counts as traced only through a test that passed: a failing test shows someone meant to
check it, not that it holds. A skipped test, or one that never ran (its file failed to collect), is
neither passing nor failing here. A parametrized test claims for each of its cases, and each case is
listed by its own node id, so one criterion may have a passing and a failing case at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from spec2prod_assets.spec.model import ComponentSpec
from spec2prod_assets.testing.claims import Claims
from spec2prod_assets.testing.pytest_run import TestOutcome

TraceKind = Literal["acceptance", "requirement"]
_FAILING = frozenset({"failed", "error"})
# A table cell lands in the UI: long criteria and long test lists are cut, saying how much.
MAX_TEXT_CHARS = 120
MAX_TESTS_SHOWN = 5


class Trace(BaseModel):
    """One criterion or requirement and the tests claiming it, in run order."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    kind: TraceKind
    passing: tuple[str, ...] = ()
    failing: tuple[str, ...] = ()

    @property
    def traced(self) -> bool:
        return bool(self.passing)


class Traceability(BaseModel):
    """The spec's acceptance criteria (first) and requirements (after), in spec order."""

    model_config = ConfigDict(frozen=True)

    items: tuple[Trace, ...]
    unknown_ids: tuple[str, ...] = ()
    unreadable_files: tuple[str, ...] = ()

    @property
    def criteria(self) -> tuple[Trace, ...]:
        return tuple(t for t in self.items if t.kind == "acceptance")

    @property
    def requirements(self) -> tuple[Trace, ...]:
        return tuple(t for t in self.items if t.kind == "requirement")

    @property
    def untested(self) -> tuple[Trace, ...]:
        """Acceptance criteria no passing test claims: what a traceability gate names."""
        return tuple(t for t in self.criteria if not t.traced)

    def metrics(self) -> dict[str, int]:
        """Plain counts under stable keys, so the UI plots them across materializations."""
        return {
            "criteria_total": len(self.criteria),
            "criteria_traced": sum(t.traced for t in self.criteria),
            "criteria_untested": len(self.untested),
            "requirements_total": len(self.requirements),
            "requirements_traced": sum(t.traced for t in self.requirements),
        }

    def markdown_table(self) -> str:
        """id | criterion | passing tests, one row per criterion then requirement."""
        if not self.items:
            return "The spec lists no acceptance criteria or requirements."
        lines = ["| Id | Criterion | Passing tests |", "|---|---|---|"]
        for trace in self.items:
            lines.append(f"| {_cell(trace.id)} | {_cell(_clip(trace.text))} | {_tests_cell(trace)} |")
        if self.unknown_ids:
            lines += ["", f"Tests claim ids the spec does not have: {_cell(', '.join(self.unknown_ids))}."]
        if self.unreadable_files:
            lines += ["", f"Test files not read for claims: {_cell('; '.join(self.unreadable_files))}."]
        return "\n".join(lines)


def trace(spec: ComponentSpec, claims: Claims, outcomes: Iterable[TestOutcome]) -> Traceability:
    """Which tests claim each of `spec`'s criteria and requirements, split by whether they passed."""
    passing: dict[str, list[str]] = {}
    failing: dict[str, list[str]] = {}
    for outcome in outcomes:
        if outcome.outcome == "passed":
            target = passing
        elif outcome.outcome in _FAILING:
            target = failing
        else:
            continue
        for spec_id in claims.of(outcome.test_id):
            target.setdefault(spec_id, []).append(outcome.test_id)
    entries: list[tuple[str, str, TraceKind]] = [
        *((c.id, c.text, "acceptance") for c in spec.acceptance_criteria),
        *((r.id, r.text, "requirement") for r in spec.requirements),
    ]
    unknown = {spec_id for ids in claims.unknown.values() for spec_id in ids}
    return Traceability(
        items=tuple(
            Trace(
                id=item_id,
                text=text,
                kind=kind,
                passing=tuple(passing.get(item_id, ())),
                failing=tuple(failing.get(item_id, ())),
            )
            for item_id, text, kind in entries
        ),
        unknown_ids=tuple(sorted(unknown)),
        unreadable_files=tuple(f"{f.path} ({f.problem})" for f in claims.unreadable),
    )


def _tests_cell(trace: Trace) -> str:
    cell = _test_list(trace.passing) if trace.passing else "**none**"
    if trace.failing:
        cell += f" (failing: {_test_list(trace.failing)})"
    return cell


def _test_list(test_ids: tuple[str, ...]) -> str:
    shown = ", ".join(f"`{_cell(t)}`" for t in test_ids[:MAX_TESTS_SHOWN])
    more = len(test_ids) - MAX_TESTS_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else f"{text[: MAX_TEXT_CHARS - 1]}…"


def _cell(text: str) -> str:
    """Text that keeps a table row one row: no newline, no bare `|`."""
    return " ".join(text.split()).replace("|", "\\|")
