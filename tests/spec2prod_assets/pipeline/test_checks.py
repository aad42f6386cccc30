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
    HEALTHY,
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
from spec2prod_assets.testing import pytest_run
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
        generated_tests_included=0,
    )
    results = list(release_checks(candidate, gap_spec()))
    assert [r.check_name for r in results] == [s.name for s in RELEASE_CHECKS]
    assert [r.passed for r in results] == [False, False, True]


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
    result = live_release_check(_Records(live), STAGING, "mathy", _outcome())
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
