"""What a mutation run found, as numbers a run can plot and a table of what the tests let through."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

MutantOutcome = Literal["killed", "survived", "timed_out", "suspicious"]


class MutationRunError(RuntimeError):
    """The mutation run produced nothing trustworthy: like a test run that cannot be read, never a score."""


class SurvivingMutant(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    """mutmut's name for it (`calc.ops.x_add__mutmut_2`): the same source gives the same names, so a
    later run on a copy can aim at exactly these mutants."""
    file: str
    """Relative to the tree, as in the project."""
    line: int
    change: str
    """Short: "a+b → a - b"."""


class MutationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    tool: str
    mutants_total: int
    mutants_run: int
    mutants_killed: int
    mutants_survived: int
    """Including mutants no test reaches: the suite would not notice them either."""
    mutants_timed_out: int
    mutants_suspicious: int = 0
    """Crashed or ended oddly: run, but counted neither killed nor survived."""
    sampled: bool
    sample_reason: str
    duration_s: float
    survivors: tuple[SurvivingMutant, ...]
    sample: tuple[str, ...] = ()
    """The names of the mutants run, when that was not all of them: another suite measured on exactly
    these compares with this one."""
    outcomes: dict[str, MutantOutcome] = {}
    """Each mutant run, by name: what `restricted_to` recounts."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mutation_score_pct(self) -> float | None:
        """Killed out of run; a timeout is not counted as a kill, so the score never flatters the suite.
        None when nothing ran: no score is better than a made-up one."""
        if self.mutants_run == 0:
            return None
        return round(self.mutants_killed / self.mutants_run * 100, 2)

    def restricted_to(self, names: Collection[str], reason: str) -> MutationReport:
        """The same run counted on `names` only: when another suite reached fewer of these mutants in its
        budget, its score compares with this one on the mutants both ran."""
        kept = {name: outcome for name, outcome in self.outcomes.items() if name in names}
        counts = Counter(kept.values())
        return self.model_copy(
            update={
                "mutants_run": len(kept),
                "mutants_killed": counts["killed"],
                "mutants_survived": counts["survived"],
                "mutants_timed_out": counts["timed_out"],
                "mutants_suspicious": counts["suspicious"],
                "sampled": True,
                "sample_reason": "; ".join(r for r in (self.sample_reason, reason) if r),
                "survivors": tuple(s for s in self.survivors if s.name in kept),
                "sample": tuple(sorted(kept)),
                "outcomes": kept,
            }
        )
