"""Mutation testing in the pipeline: its budget, the baseline suite's run, and the release suite's.

Mutation testing runs the suite once per mutant: on the bundled example a few seconds, on a large
component as long as it is given. Each run gets `$SPEC2PROD_MUTATION_BUDGET_S` (60 s by default; 0 turns
mutation testing off) and samples when the component does not fit. The baseline suite is measured once,
in `generated_tests`, before generation: its surviving mutants go into the generation tasks and the
funnel, and its score is the release's "before". A measurement that fails is recorded, not hidden: the
mutation gate, when the spec asks for one, then fails closed.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from resources.env_vars import env_float
from spec2prod_assets.generation.runner import GeneratedTests
from spec2prod_assets.mutation import MutationReport, MutationRunError, run_mutation
from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.release.candidate import ReleaseCandidate, add_accepted_tests
from spec2prod_assets.release.mutation_scores import measure_mutation_scores
from spec2prod_assets.storage.working_copies import copy_component

MUTATION_BUDGET_ENV = "SPEC2PROD_MUTATION_BUDGET_S"
# Per run (one suite, or the funnel's check); the bundled calculator's 36 mutants take about 5 s.
DEFAULT_MUTATION_BUDGET_S = 60.0
OFF_NOTE = f"not measured: {MUTATION_BUDGET_ENV} is 0"


def mutation_budget() -> float:
    """Seconds for each mutation run; 0 when mutation testing is off."""
    configured = env_float(MUTATION_BUDGET_ENV, at_least=0, unit="seconds")
    return DEFAULT_MUTATION_BUDGET_S if configured is None else configured


def baseline_mutation(
    tree: Path, layout: ComponentLayout, work_dir: Path
) -> tuple[MutationReport | None, str]:
    """The component's own tests against its mutants, or None and why not."""
    budget = mutation_budget()
    if not budget:
        return None, OFF_NOTE
    try:
        return run_mutation(tree, layout, work_dir=work_dir, budget_s=budget), ""
    except MutationRunError as exc:
        dg.get_dagster_logger().warning("The baseline's mutation score was not measured: %s", exc)
        return None, f"measurement failed: {exc}"


def with_mutation_scores(
    candidate: ReleaseCandidate,
    project_root: Path,
    layout: ComponentLayout,
    work_dir: Path,
    generated: GeneratedTests,
) -> ReleaseCandidate:
    """The candidate with both suites' scores, or with the reason there are none. The baseline's report
    comes from `generated_tests`; without one (mutation testing was off then), it is measured here."""
    budget = mutation_budget()
    if not budget:
        return candidate.model_copy(update={"mutation_note": OFF_NOTE})
    before = generated.baseline_mutation
    suite = copy_component(project_root, layout, work_dir / "release-suite")
    add_accepted_tests(suite, Path(generated.funnel.accepted_dir), generated.funnel.accepted_files)
    original = None if before is not None else copy_component(project_root, layout, work_dir / "original")
    try:
        scores = measure_mutation_scores(
            original, suite, layout, work_dir=work_dir, budget_s=budget, before=before
        )
    except MutationRunError as exc:
        dg.get_dagster_logger().warning("Mutation scores not measured: %s", exc)
        return candidate.model_copy(update={"mutation_note": f"measurement failed: {exc}"})
    return candidate.model_copy(update={"mutation": scores, "mutation_note": ""})
