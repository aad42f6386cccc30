"""A generated test that covers nothing new may still be worth keeping: it kills a mutant that the
component's own tests let survive, so it would catch a bug they miss (the idea of Meta's ACH, used
here as a filter). Only the tests the coverage filter would drop are checked, within a time budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from spec2prod_assets.generation.failure_reason import first_line
from spec2prod_assets.mutation import MutationRunError, SurvivingMutant, kills_by_test
from spec2prod_assets.project.layout import ComponentLayout

_LISTED = 3  # mutants named in one reason; the rest are counted


@dataclass(frozen=True)
class MutantGains:
    reasons: dict[str, str]
    """Test id -> why it is kept, for each test that kills a surviving mutant."""
    note: str
    """What the check did, or why it did not run: shown beside the funnel's counts."""
    checked: frozenset[str] = frozenset()
    """The tests checked: those not in `reasons` kill none of the survivors."""
    unchecked: frozenset[str] = frozenset()
    """The tests the budget ran out before."""


def mutant_gains(
    tree: Path,
    layout: ComponentLayout,
    tests: Sequence[str],
    survivors: Sequence[SurvivingMutant],
    *,
    work_dir: Path,
    budget_s: float,
) -> MutantGains:
    """`tests` (node ids in `tree`, in the funnel's order) covered nothing new; `survivors` are the
    baseline suite's surviving mutants of the same source."""
    if not tests:
        return MutantGains({}, "")
    if budget_s <= 0:
        return MutantGains({}, "no mutant check: mutation testing is off")
    if not survivors:
        return MutantGains({}, "no mutant check: the baseline suite lets no mutant survive")
    try:
        kills = kills_by_test(
            tree,
            layout,
            tests=tests,
            targets=[s.name for s in survivors],
            work_dir=work_dir,
            budget_s=budget_s,
        )
    except MutationRunError as exc:
        return MutantGains({}, f"no mutant check: the mutation run failed: {first_line(exc)}")
    by_name = {s.name: s for s in survivors}
    reasons = {test: _reason([by_name[name] for name in names]) for test, names in kills.by_test.items()}
    note = (
        f"{len(tests)} tests without new coverage checked against {len(survivors)} surviving mutants: "
        f"{len(reasons)} kill at least one"
    )
    if kills.unchecked:
        note += f"; the {budget_s:.0f}s budget ran out before {len(kills.unchecked)} of them were checked"
    unchecked = frozenset(kills.unchecked)
    return MutantGains(reasons, note, frozenset(tests) - unchecked, unchecked)


def _reason(killed: Sequence[SurvivingMutant]) -> str:
    listed = "; ".join(f"{m.file}:{m.line} {m.change}" for m in killed[:_LISTED])
    more = f" and {len(killed) - _LISTED} more" if len(killed) > _LISTED else ""
    return (
        f"adds no coverage but kills {len(killed)} mutant{'s' if len(killed) != 1 else ''} "
        f"the existing tests let survive: {listed}{more}"
    )
