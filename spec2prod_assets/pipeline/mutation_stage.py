"""When the release measures mutation scores, with what budget, and what a failed measurement means.

Mutation testing runs the suite once per mutant: on the bundled example a few seconds, on a large
component as long as it is given. It is measured when the spec asks for a mutation gate
(`mutation_score: 60%`), or when `$SPEC2PROD_MUTATION_BUDGET_S` says how long it may take (0 turns it
off). A measurement that fails is recorded, not hidden: the gate, when asked for, then fails closed.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from resources.env_vars import env_float
from spec2prod_assets.mutation.report import MutationRunError
from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.release.candidate import ReleaseCandidate
from spec2prod_assets.release.mutation_scores import measure_mutation_scores
from spec2prod_assets.spec.model import ComponentSpec
from spec2prod_assets.storage.working_copies import copy_component

MUTATION_BUDGET_ENV = "SPEC2PROD_MUTATION_BUDGET_S"
# Both suites together; on the bundled calculator (36 mutants) the two runs take about 10 s.
DEFAULT_MUTATION_BUDGET_S = 120.0


def mutation_budget(spec: ComponentSpec) -> float | None:
    """Seconds for both suites, or None when nothing asks for mutation scores."""
    configured = env_float(MUTATION_BUDGET_ENV, at_least=0, unit="seconds")
    if configured is not None:
        return configured or None
    return DEFAULT_MUTATION_BUDGET_S if spec.quality_gates.mutation_score_pct is not None else None


def with_mutation_scores(
    candidate: ReleaseCandidate,
    spec: ComponentSpec,
    project_root: Path,
    layout: ComponentLayout,
    work_dir: Path,
) -> ReleaseCandidate:
    """The candidate with both suites' scores, or with the reason there are none."""
    budget = mutation_budget(spec)
    if budget is None:
        return candidate.model_copy(
            update={
                "mutation_note": f"not measured: the spec sets no mutation_score gate and "
                f"{MUTATION_BUDGET_ENV} is unset or 0"
            }
        )
    original = copy_component(project_root, layout, work_dir / "original")
    try:
        scores = measure_mutation_scores(
            original, Path(candidate.tree_path), layout, work_dir=work_dir, budget_s=budget
        )
    except MutationRunError as exc:
        dg.get_dagster_logger().warning("Mutation scores not measured: %s", exc)
        return candidate.model_copy(update={"mutation_note": f"measurement failed: {exc}"})
    return candidate.model_copy(update={"mutation": scores, "mutation_note": ""})
