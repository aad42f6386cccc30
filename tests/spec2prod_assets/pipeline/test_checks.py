"""The gates: every check result carries the name of a declared, blocking check, and the deployment gates
turn a deployer's failure into a Dagster failure and re-read the environment independently."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import pytest

from spec2prod_assets.deploy.model import (
    STAGING,
    DeployError,
    DeploymentFailed,
    DeploymentOutcome,
    ReleaseInfo,
)
from spec2prod_assets.pipeline.checks import (
    COVERAGE_MEETS_THRESHOLD,
    EXISTING_TESTS_RAN,
    HEALTHY,
    LINT_GATE,
    RELEASE_CHECKS,
    SPEC_CHECKS,
    deploy_or_fail,
    healthy_checks,
    live_release_check,
    release_checks,
    source_path_check,
)
from spec2prod_assets.pipeline.stages import RELEASE_CANDIDATE, SPEC, STAGING_DEPLOYMENT
from spec2prod_assets.refactor.lint import LintReport
from spec2prod_assets.release.candidate import ReleaseCandidate
from spec2prod_assets.spec.model import ComponentSpec, CoverageKind
from spec2prod_assets.testing import pytest_run
from spec2prod_assets.testing.coverage_report import CoverageReport, ModuleCoverage
from tests.support.gap_component import gap_spec

LOG = logging.getLogger(__name__)


def _outcome(*, healthy: bool = True, sha: str = "a" * 64) -> DeploymentOutcome:
    return DeploymentOutcome(
        environment=STAGING,
        component="mathy",
        release_id="r1",
        bundle_sha256=sha,
        action="deploy",
        healthy=healthy,
        rolled_back=not healthy,
        live_release_id="r0" if not healthy else "r1",
        health_summary="passed on attempt 1 of 1" if healthy else "failed all 1 attempts (last: exit code 1)",
        health_output="1 passed" if healthy else "AssertionError",
        duration_s=0.1,
    )


class _Records:
    """A deployer's own records, reduced to what the health gate reads."""

    def __init__(self, live: ReleaseInfo | None) -> None:
        self.live = live

    def healthy_release(self, environment: str, component: str) -> ReleaseInfo | None:
        return self.live


def _release(sha: str) -> ReleaseInfo:
    return ReleaseInfo(release_id="r1", bundle_sha256=sha, created="now", is_current=True, is_bad=False)


def test_every_declared_check_is_blocking_and_on_its_stage() -> None:
    assert [(s.asset_key.to_user_string(), s.blocking) for s in SPEC_CHECKS] == [(SPEC, True)]
    assert {(s.asset_key.to_user_string(), s.blocking) for s in RELEASE_CHECKS} == {(RELEASE_CANDIDATE, True)}
    [healthy] = healthy_checks(STAGING_DEPLOYMENT, STAGING)
    assert (healthy.name, healthy.asset_key.to_user_string(), healthy.blocking) == (
        HEALTHY,
        STAGING_DEPLOYMENT,
        True,
    )
    assert healthy.description is not None and healthy.description.startswith("Staging's deploy history")


def test_release_gates_yield_exactly_the_declared_checks_and_fail_closed_without_tests() -> None:
    candidate = ReleaseCandidate(
        bundle_path="b.tar.gz",
        bundle_sha256="a" * 64,
        tree_path="tree",
        source_revision="tree:x",
        test_run=pytest_run.TestRun(exit_code=5, collected=0, outcomes=(), coverage=None, duration_s=0.0),
        lint=LintReport(violations=0, by_rule={}, complexity=0, lines_of_code=0),
        lint_baseline=LintReport(violations=0, by_rule={}, complexity=0, lines_of_code=0),
        generated_tests_included=0,
    )
    results = list(release_checks(candidate, gap_spec()))
    assert [r.check_name for r in results] == [s.name for s in RELEASE_CHECKS]
    # all tests pass, coverage, existing tests fail closed; lint, criteria_tested and mutation_score pass:
    # nothing got worse, and the spec asks for neither of the last two
    assert [r.passed for r in results] == [False, False, False, True, True, True]


def _module(statements: int, missing: int, branches: int, missing_branches: int) -> ModuleCoverage:
    return ModuleCoverage(
        path="src/mathy/ops.py",
        statements=statements,
        executed_lines=tuple(range(1, statements - missing + 1)),
        missing_lines=tuple(range(statements - missing + 1, statements + 1)),
        branches=branches,
        executed_branches=tuple((1, n) for n in range(branches - missing_branches)),
        missing_branches=tuple((2, n) for n in range(missing_branches)),
    )


def _candidate(coverage: CoverageReport | None, *, existing_tests_ran: int = 3) -> ReleaseCandidate:
    lint = LintReport(violations=0, by_rule={}, complexity=0, lines_of_code=0)
    outcome = pytest_run.TestOutcome(test_id="tests/test_ops.py::test_add", outcome="passed")
    return ReleaseCandidate(
        bundle_path="b.tar.gz",
        bundle_sha256="a" * 64,
        tree_path="tree",
        source_revision="tree:x",
        test_run=pytest_run.TestRun(
            exit_code=0, collected=1, outcomes=(outcome,), coverage=coverage, duration_s=0.0
        ),
        lint=lint,
        lint_baseline=lint,
        generated_tests_included=0,
        existing_tests_ran=existing_tests_ran,
        tests_found_by="the tests/ folder",
    )


def _gate(candidate: ReleaseCandidate, spec: ComponentSpec, name: str) -> dg.AssetCheckResult:
    [result] = [r for r in release_checks(candidate, spec) if r.check_name == name]
    return result


def test_the_line_coverage_gate_says_which_measure_its_value_and_the_threshold() -> None:
    # 25 statements, 14 missing: 44 % of lines; 10 branches, all covered.
    candidate = _candidate(CoverageReport(modules=(_module(25, 14, 10, 0),)))
    gate = _gate(candidate, gap_spec(coverage_threshold_pct=80.0), COVERAGE_MEETS_THRESHOLD)
    assert not gate.passed
    assert gate.description == "line coverage 44.00% is below the spec's 80%"
    assert gate.metadata["coverage_kind"].value == "line"
    assert (gate.metadata["coverage_pct"].value, gate.metadata["coverage_threshold_pct"].value) == (
        44.0,
        80.0,
    )


def test_the_branch_coverage_gate_reads_coverage_pys_total_with_branches() -> None:
    # Lines 20 of 25 (80 %), branches 5 of 15: coverage.py's total is 25 of 40 = 62.5 %.
    candidate = _candidate(CoverageReport(modules=(_module(25, 5, 15, 10),)))
    spec = gap_spec(coverage_threshold_pct=80.0)
    spec = spec.model_copy(
        update={"quality_gates": spec.quality_gates.model_copy(update={"coverage_kind": CoverageKind.BRANCH})}
    )
    line_spec = gap_spec(coverage_threshold_pct=80.0)
    assert _gate(candidate, line_spec, COVERAGE_MEETS_THRESHOLD).passed
    gate = _gate(candidate, spec, COVERAGE_MEETS_THRESHOLD)
    assert not gate.passed
    assert gate.description == "line and branch coverage 62.50% is below the spec's 80%"
    assert gate.metadata["total_coverage_pct"].value == 62.5
    assert gate.metadata["branch_coverage_pct"].value == pytest.approx(33.33)


def test_no_existing_test_fails_the_release_unless_the_spec_allows_it() -> None:
    candidate = _candidate(CoverageReport(modules=(_module(4, 0, 0, 0),)), existing_tests_ran=0)
    refused = _gate(candidate, gap_spec(), EXISTING_TESTS_RAN)
    assert not refused.passed
    assert (refused.description or "").startswith(
        "none of the project's own tests ran (looked for: the tests/"
    )
    allowed = _gate(candidate, gap_spec().model_copy(update={"allow_no_tests": True}), EXISTING_TESTS_RAN)
    assert allowed.passed


def test_existing_tests_that_ran_pass_the_gate_and_say_how_they_were_found() -> None:
    gate = _gate(_candidate(None, existing_tests_ran=3), gap_spec(), EXISTING_TESTS_RAN)
    assert gate.passed
    assert gate.description == "3 of the project's own tests ran (found by the tests/ folder)"


def test_the_lint_gate_fails_when_the_counts_were_made_under_different_ruff_settings() -> None:
    def measured(config: str | None) -> LintReport:
        return LintReport(violations=0, by_rule={}, complexity=0, lines_of_code=0, config=config)

    candidate = _candidate(None).model_copy(
        update={"lint": measured("ruff.toml"), "lint_baseline": measured(None)}
    )
    gate = _gate(candidate, gap_spec(lint_clean=False), LINT_GATE)
    assert not gate.passed
    assert (gate.description or "").startswith(
        "lint counts do not compare: ruff.toml now, spec2prod's default rules in the baseline"
    )


def test_the_source_path_gate_names_its_declared_check(tmp_path: Path) -> None:
    result = source_path_check(tmp_path, gap_spec())
    assert (result.check_name, result.passed) == (SPEC_CHECKS[0].name, False)
    assert "does not exist" in (result.description or "")


@pytest.mark.parametrize(
    ("live", "passed"),
    [(_release("a" * 64), True), (_release("b" * 64), False), (None, False)],
    ids=["deployed-release-is-live", "another-release-is-live", "nothing-live"],
)
def test_the_health_gate_rereads_the_environment(live: ReleaseInfo | None, passed: bool) -> None:
    result = live_release_check(_Records(live), STAGING, "mathy", _outcome(), asset=STAGING_DEPLOYMENT)
    assert (result.check_name, result.passed) == (HEALTHY, passed)


def test_a_healthy_deploy_passes_through() -> None:
    outcome = _outcome()
    assert deploy_or_fail(lambda: outcome, LOG) is outcome


def test_an_unhealthy_deploy_fails_the_asset_with_its_outcome_as_metadata() -> None:
    def unhealthy() -> DeploymentOutcome:
        raise DeploymentFailed(_outcome(healthy=False))

    with pytest.raises(dg.Failure) as failure:
        deploy_or_fail(unhealthy, LOG)
    assert "AssertionError" in (failure.value.description or "")
    assert failure.value.metadata["rolled_back"] == dg.MetadataValue.bool(True)


def test_a_refused_deploy_fails_the_asset_with_the_reason() -> None:
    def refused() -> DeploymentOutcome:
        raise DeployError("another deploy holds the lock")

    with pytest.raises(dg.Failure, match="another deploy holds the lock"):
        deploy_or_fail(refused, LOG)
