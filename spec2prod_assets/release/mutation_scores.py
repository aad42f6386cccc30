"""The baseline suite's mutation score beside the release suite's, measured in the same run.

Coverage says a line ran; a mutation score says the tests would notice it breaking. Both suites are
measured on the same mutants of the same source (the refactor keeps behaviour, so the original code and
the release code mutate alike), so the two scores compare: the difference is what the accepted generated
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


def measure_mutation_scores(
    original_tree: Path,
    release_tree: Path,
    layout: ComponentLayout,
    *,
    work_dir: Path,
    budget_s: float,
    seed: int = 0,
) -> MutationScores:
    """Half the budget for each suite, with the same seed so a sampled run samples the same mutants."""
    half = budget_s / 2
    before = run_mutation(original_tree, layout, work_dir=work_dir / "baseline", budget_s=half, seed=seed)
    after = run_mutation(release_tree, layout, work_dir=work_dir / "release", budget_s=half, seed=seed)
    return MutationScores(before=before, after=after, budget_s=budget_s)
