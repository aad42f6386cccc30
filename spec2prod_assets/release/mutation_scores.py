"""The baseline suite's mutation score beside the release suite's, measured in the same run.

Coverage says a line ran; a mutation score says the tests would notice it breaking. Both suites are
run against the mutants of the component's original code, the code the funnel accepted the generated
tests against (the refactor is proven to keep behaviour, so the tests judge both alike). Mutating the
refactored code instead would give other mutants: mutmut names a mutant by its function and its place
in it, and a reformatted function numbers them differently. So the two scores compare, on exactly the
same mutants (a sampled baseline run names those the release suite is run on): the difference is what
the accepted generated tests added.
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
    """The release suite: the component's own tests and the accepted generated ones."""
    budget_s: float
    """For each suite's run."""


def measure_mutation_scores(
    original_tree: Path | None,
    release_suite_tree: Path,
    layout: ComponentLayout,
    *,
    work_dir: Path,
    budget_s: float,
    seed: int = 0,
    before: MutationReport | None = None,
) -> MutationScores:
    """`release_suite_tree` is the original code with the release's tests, `original_tree` the untouched
    component with its own; `budget_s` for each suite. `before`, when the baseline was measured already,
    is reused, else `original_tree` is measured with the same seed."""
    if before is None:
        if original_tree is None:
            raise ValueError("measure_mutation_scores needs the original tree or the baseline's report")
        before = run_mutation(
            original_tree, layout, work_dir=work_dir / "baseline", budget_s=budget_s, seed=seed
        )
    after = run_mutation(
        release_suite_tree,
        layout,
        work_dir=work_dir / "release",
        budget_s=budget_s,
        seed=seed,
        only=before.sample or None,
    )
    if len(after.outcomes) < len(before.outcomes):
        reached = after.outcomes.keys()
        before = before.restricted_to(
            reached, f"compared on the {len(reached)} mutants the release suite reached within its budget"
        )
    return MutationScores(before=before, after=after, budget_s=budget_s)
