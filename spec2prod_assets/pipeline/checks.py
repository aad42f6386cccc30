"""The release candidate's gates, from the spec; they fail closed.

Each is a blocking asset check: a failed gate stops staging and production in the same run.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from spec2prod_assets.release.candidate import ReleaseCandidate
from spec2prod_assets.spec.model import ComponentSpec


def release_checks(candidate: ReleaseCandidate, spec: ComponentSpec) -> Iterator[dg.AssetCheckResult]:
    run = candidate.test_run
    yield dg.AssetCheckResult(
        check_name="all_tests_pass",
        passed=run.failed == 0 and run.passed > 0,
        metadata={"tests_passed": run.passed, "tests_failed": run.failed},
        description=(
            f"{run.passed} passed, {run.failed} failed"
            if run.passed or run.failed
            else "no test ran: a release with no tests is not proven"
        ),
    )
    coverage = run.coverage.line_pct if run.coverage else 0.0
    threshold = spec.quality_gates.coverage_threshold_pct
    yield dg.AssetCheckResult(
        check_name="coverage_meets_threshold",
        passed=run.coverage is not None and coverage >= threshold,
        metadata={"line_coverage_pct": coverage, "coverage_threshold_pct": threshold},
        description=f"line coverage {coverage:.2f}% vs the spec's {threshold:.0f}%",
    )
    violations = candidate.lint.violations
    required = spec.quality_gates.lint_clean
    yield dg.AssetCheckResult(
        check_name="lint_clean",
        passed=violations == 0 or not required,
        metadata={"lint_violations": violations, "required_by_spec": required},
        description=(
            f"{violations} lint violations"
            + ("" if required else " (the spec does not require lint-clean code)")
        ),
    )
