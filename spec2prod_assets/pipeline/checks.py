"""The pipeline's gates: the spec's source path, the release candidate's quality gates, and the deployment
gates. They fail closed, and every one is blocking: a failed gate stops the stages after it in the same run.

Each check's name is defined once here and used by both its `AssetCheckSpec` and its `AssetCheckResult`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg

from spec2prod_assets.deploy.model import Deployer, DeployError, DeploymentFailed, DeploymentOutcome
from spec2prod_assets.pipeline.metadata import deployment_metadata
from spec2prod_assets.pipeline.stages import RELEASE_CANDIDATE, SPEC
from spec2prod_assets.release.candidate import ReleaseCandidate
from spec2prod_assets.spec.model import ComponentSpec
from spec2prod_assets.spec.source_paths import source_path_problem

SOURCE_PATH_INSIDE_PROJECT = "source_path_inside_project"
ALL_TESTS_PASS = "all_tests_pass"
COVERAGE_MEETS_THRESHOLD = "coverage_meets_threshold"
LINT_CLEAN = "lint_clean"
HEALTHY = "healthy"

SPEC_CHECKS = [
    dg.AssetCheckSpec(
        SOURCE_PATH_INSIDE_PROJECT,
        asset=SPEC,
        blocking=True,
        description="The spec's source path exists inside the project root.",
    )
]

RELEASE_CHECKS = [
    dg.AssetCheckSpec(
        ALL_TESTS_PASS,
        asset=RELEASE_CANDIDATE,
        blocking=True,
        description="Every test, existing and accepted generated, passes on the refactored code.",
    ),
    dg.AssetCheckSpec(
        COVERAGE_MEETS_THRESHOLD,
        asset=RELEASE_CANDIDATE,
        blocking=True,
        description="Line coverage is at least the spec's threshold.",
    ),
    dg.AssetCheckSpec(
        LINT_CLEAN,
        asset=RELEASE_CANDIDATE,
        blocking=True,
        description="No ruff violations, when the spec asks for lint-clean code.",
    ),
]


def healthy_checks(asset: str, environment: str) -> list[dg.AssetCheckSpec]:
    """The deployment asset's one gate, checked independently of the deploy that just reported success."""
    return [
        dg.AssetCheckSpec(
            HEALTHY,
            asset=asset,
            blocking=True,
            description=(
                f"{environment.capitalize()}'s deploy history names this bundle as its live, healthy release."
            ),
        )
    ]


def source_path_check(project_root: Path, spec: ComponentSpec) -> dg.AssetCheckResult:
    problem = source_path_problem(project_root, spec.source_path)
    return dg.AssetCheckResult(
        check_name=SOURCE_PATH_INSIDE_PROJECT,
        passed=problem is None,
        description=problem or f"{spec.source_path} exists inside the project root.",
    )


def release_checks(candidate: ReleaseCandidate, spec: ComponentSpec) -> Iterator[dg.AssetCheckResult]:
    run = candidate.test_run
    yield dg.AssetCheckResult(
        check_name=ALL_TESTS_PASS,
        passed=run.all_passed,
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
        check_name=COVERAGE_MEETS_THRESHOLD,
        passed=run.coverage is not None and coverage >= threshold,
        metadata={"line_coverage_pct": coverage, "coverage_threshold_pct": threshold},
        description=f"line coverage {coverage:.2f}% vs the spec's {threshold:.0f}%",
    )
    violations = candidate.lint.violations
    required = spec.quality_gates.lint_clean
    yield dg.AssetCheckResult(
        check_name=LINT_CLEAN,
        passed=violations == 0 or not required,
        metadata={"lint_violations": violations, "required_by_spec": required},
        description=(
            f"{violations} lint violations"
            + ("" if required else " (the spec does not require lint-clean code)")
        ),
    )


def deploy_or_fail(
    deploy: Callable[[], DeploymentOutcome],
    log: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> DeploymentOutcome:
    """Run a deploy; a failed one fails the asset with the health output and rollback in its metadata."""
    try:
        outcome = deploy()
    except DeploymentFailed as exc:
        outcome = exc.outcome
        log.error("Deployment of %s failed: %s", outcome.release_id, exc)
        raise dg.Failure(
            description=f"{exc}\n\n{outcome.health_output}".strip(),
            metadata=deployment_metadata(outcome),
        ) from exc
    except DeployError as exc:
        raise dg.Failure(description=str(exc)) from exc
    log.info("%s is live in %s (%s)", outcome.release_id, outcome.environment, outcome.health_summary)
    return outcome


def live_release_check(
    deployer: Deployer, environment: str, component: str, outcome: DeploymentOutcome
) -> dg.AssetCheckResult:
    """Re-read the environment from the deployer's own records: the release we deployed is the healthy one."""
    live = deployer.healthy_release(environment, component)
    passed = live is not None and live.bundle_sha256 == outcome.bundle_sha256
    return dg.AssetCheckResult(
        check_name=HEALTHY,
        passed=passed,
        metadata={"release_id": outcome.release_id, "live_release_id": live.release_id if live else ""},
        description=(
            f"{environment} serves the healthy release {outcome.release_id}"
            if passed
            else f"{environment} does not serve {outcome.release_id} as a healthy release"
        ),
    )
