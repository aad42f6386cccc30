"""The baseline suite's mutation score beside the release suite's, measured in the same run.

Coverage says a line ran; a mutation score says the tests would notice it breaking. Both suites are
measured on the same mutants of the same source (the refactor keeps behaviour, so the original code and
the release code mutate alike, under the same names; a sampled baseline run names the mutants the
release suite is run on), so the two scores compare: the difference is what the accepted generated
tests added.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from spec2prod_assets.mutation.report import MutationReport
from spec2prod_assets.mutation.runner import run_mutation
from spec2prod_assets.project.layout import ComponentLayout


class MutationScores(BaseModel):
    """Each suite's report; `before` is the component's own tests on the untouched code."""

    model_config = ConfigDict(frozen=True)

    before: MutationReport
    after: MutationReport
    budget_s: float
    """For each suite's run."""


def measure_mutation_scores(
    original_tree: Path | None,
    release_tree: Path,
    layout: ComponentLayout,
    *,
    work_dir: Path,
    budget_s: float,
    seed: int = 0,
    before: MutationReport | None = None,
) -> MutationScores:
    """`budget_s` for each suite; `before`, when the baseline was measured already, is reused, else
    `original_tree` (the untouched component with its tests) is measured with the same seed."""
    if before is None:
        if original_tree is None:
            raise ValueError("measure_mutation_scores needs the original tree or the baseline's report")
        before = run_mutation(
            original_tree, layout, work_dir=work_dir / "baseline", budget_s=budget_s, seed=seed
        )
    after = run_mutation(
        release_tree,
        layout,
        work_dir=work_dir / "release",
        budget_s=budget_s,
        seed=seed,
        only=before.sample or None,
    )
    return MutationScores(before=before, after=after, budget_s=budget_s)
