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
EXISTING_TESTS_RAN = "existing_tests_ran"
LINT_GATE = "lint_gate"
CRITERIA_TESTED = "criteria_tested"
MUTATION_SCORE = "mutation_score"
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
        description="Coverage (line, or line and branch as the spec's coverage_kind says) is at least the "
        "spec's threshold.",
    ),
    dg.AssetCheckSpec(
        EXISTING_TESTS_RAN,
        asset=RELEASE_CANDIDATE,
        blocking=True,
        description="The project's own tests ran in the release suite, unless the spec allows no tests.",
    ),
    dg.AssetCheckSpec(
        LINT_GATE,
        asset=RELEASE_CANDIDATE,
        blocking=True,
        description=(
            "No new ruff violations compared with the original code, under the project's ruff settings; "
            "none at all when the spec asks for lint-clean code."
        ),
    ),
    dg.AssetCheckSpec(
        CRITERIA_TESTED,
        asset=RELEASE_CANDIDATE,
        blocking=True,
        description=(
            "When the spec asks (criteria_tested), every acceptance criterion has a passing test that "
            "claims it (@pytest.mark.spec or its docstring)."
        ),
    ),
    dg.AssetCheckSpec(
        MUTATION_SCORE,
        asset=RELEASE_CANDIDATE,
        blocking=True,
        description="When the spec asks (mutation_score), the release suite kills at least that share of "
        "the mutants it ran.",
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
        asset_key=SPEC,
        check_name=SOURCE_PATH_INSIDE_PROJECT,
        passed=problem is None,
        description=problem or f"{spec.source_path} exists inside the project root.",
    )


def release_checks(candidate: ReleaseCandidate, spec: ComponentSpec) -> Iterator[dg.AssetCheckResult]:
    run = candidate.test_run
    yield dg.AssetCheckResult(
        asset_key=RELEASE_CANDIDATE,
        check_name=ALL_TESTS_PASS,
        passed=run.all_passed,
        metadata={"tests_passed": run.passed, "tests_failed": run.failed},
        description=(
            f"{run.passed} passed, {run.failed} failed"
            if run.passed or run.failed
            else "no test ran: a release with no tests is not proven"
        ),
    )
    yield _coverage_gate(candidate, spec)
    yield _existing_tests_gate(candidate, spec)
    yield _lint_gate(candidate, spec)
    yield _criteria_gate(candidate, spec)
    yield _mutation_gate(candidate, spec)


def _coverage_gate(candidate: ReleaseCandidate, spec: ComponentSpec) -> dg.AssetCheckResult:
    """The spec's coverage kind picks the measure: line (statements) or branch (coverage.py's total with
    branches); the description says which, the value and the threshold."""
    coverage = candidate.test_run.coverage
    kind = spec.quality_gates.coverage_kind.value
    threshold = spec.quality_gates.coverage_threshold_pct
    value = coverage.pct(kind) if coverage else 0.0
    measure = "line coverage" if kind == "line" else "line and branch coverage"
    passed = coverage is not None and value >= threshold
    if coverage is None:
        description = (
            f"no coverage was measured: no test ran, so {measure} cannot reach the spec's {threshold:g}%"
        )
    else:
        verdict = "meets" if passed else "is below"
        description = f"{measure} {value:.2f}% {verdict} the spec's {threshold:g}%"
    return dg.AssetCheckResult(
        asset_key=RELEASE_CANDIDATE,
        check_name=COVERAGE_MEETS_THRESHOLD,
        passed=passed,
        metadata={
            "coverage_kind": kind,
            "coverage_pct": value,
            "coverage_threshold_pct": threshold,
            "line_coverage_pct": coverage.line_pct if coverage else 0.0,
            "branch_coverage_pct": coverage.branch_pct if coverage else 0.0,
            "total_coverage_pct": coverage.total_pct if coverage else 0.0,
        },
        description=description,
    )


def _existing_tests_gate(candidate: ReleaseCandidate, spec: ComponentSpec) -> dg.AssetCheckResult:
    """A release resting only on generated tests (which pin current behaviour) is not proven by the
    project; it passes only when the spec says tests may be absent."""
    ran = candidate.existing_tests_ran
    allowed = spec.allow_no_tests
    if ran:
        description = f"{ran} of the project's own tests ran (found by {candidate.tests_found_by})"
    elif allowed:
        description = "none of the project's own tests ran; the spec allows that (allow_no_tests)"
    else:
        description = (
            f"none of the project's own tests ran (looked for: {candidate.tests_found_by}); name them with "
            "tests_path in the spec, or set allow_no_tests: true"
        )
    return dg.AssetCheckResult(
        asset_key=RELEASE_CANDIDATE,
        check_name=EXISTING_TESTS_RAN,
        passed=ran > 0 or allowed,
        metadata={
            "existing_tests_ran": ran,
            "allow_no_tests": allowed,
            "tests_found_by": candidate.tests_found_by,
        },
        description=description,
    )


def _lint_gate(candidate: ReleaseCandidate, spec: ComponentSpec) -> dg.AssetCheckResult:
    """No new violations by default (a project's existing lint debt never blocks it); zero when the spec
    asks for lint-clean code. Counts made under different ruff settings do not compare: that fails."""
    now, baseline = candidate.lint, candidate.lint_baseline
    mode = "lint_clean" if spec.quality_gates.lint_clean else "no_new_violations"
    new = now.violations - baseline.violations
    if now.config != baseline.config:
        passed = False
        description = f"lint counts do not compare: {now.rules} now, {baseline.rules} in the baseline"
    elif mode == "lint_clean":
        passed = now.violations == 0
        description = (
            f"0 lint violations, lint clean as the spec asks (baseline {baseline.violations})"
            if passed
            else f"{now.violations} lint violations: the spec asks for lint-clean code "
            f"(baseline {baseline.violations})"
        )
    else:
        passed = new <= 0
        description = (
            f"{now.violations} lint violations, none new (baseline {baseline.violations})"
            if passed
            else f"{new} new lint violations: {now.violations} now, {baseline.violations} in the baseline"
        )
    return dg.AssetCheckResult(
        asset_key=RELEASE_CANDIDATE,
        check_name=LINT_GATE,
        passed=passed,
        metadata={
            "lint_violations": now.violations,
            "lint_violations_baseline": baseline.violations,
            "lint_mode": mode,
            "lint_rules": now.rules,
        },
        description=f"{description}; rules: {now.rules}",
    )


def _criteria_gate(candidate: ReleaseCandidate, spec: ComponentSpec) -> dg.AssetCheckResult:
    """Names every acceptance criterion no passing test claims; passes when the spec does not ask."""
    asked = spec.quality_gates.criteria_tested
    traced = candidate.traceability
    untested = [] if traced is None else [f"{item.id} ({item.text})" for item in traced.untested]
    total = len(spec.acceptance_criteria)
    if traced is None:
        passed, description = not asked, "no traceability was recorded for this release"
    elif untested:
        passed = not asked
        verdict = "the spec asks for every one to be tested" if asked else "not a gate: the spec does not ask"
        description = f"{len(untested)} of {total} acceptance criteria have no passing test: " + (
            f"{'; '.join(untested)} ({verdict})"
        )
    else:
        passed, description = True, f"all {total} acceptance criteria have a passing test that claims them"
    return dg.AssetCheckResult(
        asset_key=RELEASE_CANDIDATE,
        check_name=CRITERIA_TESTED,
        passed=passed,
        metadata={
            "criteria_tested_asked": asked,
            "criteria_total": total,
            "criteria_untested": len(untested),
        },
        description=description,
    )


def _mutation_gate(candidate: ReleaseCandidate, spec: ComponentSpec) -> dg.AssetCheckResult:
    """The release suite's score against the spec's threshold; fails closed when it was asked for and could
    not be measured. A sampled run says so: its score is an estimate from the mutants it ran."""
    threshold = spec.quality_gates.mutation_score_pct
    scores = candidate.mutation
    score = scores.after.mutation_score_pct if scores else None
    if threshold is None:
        passed = True
        description = "not a gate: the spec sets no mutation_score" + (
            f" (release suite {score:.2f}%)" if score is not None else ""
        )
    elif score is None:
        passed = False
        reason = candidate.mutation_note or "no mutant ran"
        description = f"no mutation score to hold to the spec's {threshold:g}%: {reason}"
    else:
        passed = score >= threshold
        verdict = "meets" if passed else "is below"
        sampled = " (sampled: an estimate)" if scores is not None and scores.after.sampled else ""
        description = f"mutation score {score:.2f}%{sampled} {verdict} the spec's {threshold:g}%"
    return dg.AssetCheckResult(
        asset_key=RELEASE_CANDIDATE,
        check_name=MUTATION_SCORE,
        passed=passed,
        metadata={
            "mutation_score_pct": score if score is not None else -1.0,
            "mutation_threshold_pct": threshold if threshold is not None else -1.0,
        },
        description=description,
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
    deployer: Deployer, environment: str, component: str, outcome: DeploymentOutcome, *, asset: str
) -> dg.AssetCheckResult:
    """Re-read the environment from the deployer's own records: the release we deployed is the healthy one."""
    live = deployer.healthy_release(environment, component)
    passed = live is not None and live.bundle_sha256 == outcome.bundle_sha256
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=HEALTHY,
        passed=passed,
        metadata={"release_id": outcome.release_id, "live_release_id": live.release_id if live else ""},
        description=(
            f"{environment} serves the healthy release {outcome.release_id}"
            if passed
            else f"{environment} does not serve {outcome.release_id} as a healthy release"
        ),
    )
