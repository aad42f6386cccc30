from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.deploy.model import Deployer, DeploymentFailed, HealthCheckFailed, promote
from tests.spec2prod_assets.deploy.pretend_target import command_deployer, log_lines
from tests.support.tiny_component import COMPONENT, make_bundle


def test_a_healthy_deploy_runs_the_deploy_then_the_health_command(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    target = tmp_path / "target"
    outcome = command_deployer(target).deploy(bundle.path, "staging", COMPONENT)
    assert outcome.healthy and outcome.health_summary == "passed on attempt 1 of 2"
    assert log_lines(target) == [f"deploy deploy {outcome.release_id}", f"health {outcome.release_id}"]
    assert (target / "live").read_text().strip() == bundle.sha256
    assert "$ deploy command: ok" in outcome.command_output


def test_the_commands_get_the_release_variables_and_no_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPEC2PROD_TEST_TOKEN", "hunter2")
    monkeypatch.setenv("SPEC2PROD_TEST_KUBECONFIG", "/kube/config")
    bundle = make_bundle(tmp_path)
    target = tmp_path / "target"
    deployer = command_deployer(target, deploy="env > env.txt", inherit_env=("SPEC2PROD_TEST_KUBECONFIG",))
    outcome = deployer.deploy(bundle.path, "staging", COMPONENT)
    env = dict(line.split("=", 1) for line in (target / "env.txt").read_text().splitlines() if "=" in line)
    assert env["SPEC2PROD_BUNDLE"] == str(bundle.path.resolve())
    assert env["SPEC2PROD_BUNDLE_SHA256"] == bundle.sha256
    assert env["SPEC2PROD_RELEASE_ID"] == outcome.release_id
    assert env["SPEC2PROD_ENVIRONMENT"] == "staging"
    assert env["SPEC2PROD_COMPONENT"] == COMPONENT
    assert env["SPEC2PROD_PREVIOUS_RELEASE_ID"] == ""
    assert env["SPEC2PROD_TEST_KUBECONFIG"] == "/kube/config"
    assert "SPEC2PROD_TEST_TOKEN" not in env and "hunter2" not in (target / "env.txt").read_text()


def test_a_health_failure_runs_the_rollback_command_and_marks_the_release_bad(tmp_path: Path) -> None:
    good = make_bundle(tmp_path, version="1.0.0")
    broken = make_bundle(tmp_path, version="1.0.1")
    target = tmp_path / "target"
    deployer = command_deployer(target)
    first = deployer.deploy(good.path, "staging", COMPONENT)
    (target / "broken").write_text(broken.sha256 + "\n")
    with pytest.raises(HealthCheckFailed) as caught:
        deployer.deploy(broken.path, "staging", COMPONENT)
    outcome = caught.value.outcome
    assert outcome.rolled_back and not outcome.healthy
    assert outcome.live_release_id == first.release_id
    assert log_lines(target)[-1] == f"rollback to {first.release_id}"
    assert (target / "live").read_text().strip() == good.sha256
    assert "$ rollback command: ok" in outcome.command_output
    bad = [info for info in deployer.releases("staging", COMPONENT) if info.is_bad]
    assert [info.release_id for info in bad] == [outcome.release_id]
    assert [e.outcome for e in deployer.history("staging", COMPONENT)] == ["healthy", "rolled_back"]


def test_a_deploy_command_that_times_out_fails_and_rolls_back(tmp_path: Path) -> None:
    good = make_bundle(tmp_path, version="1.0.0")
    slow = make_bundle(tmp_path, version="1.0.1")
    target = tmp_path / "target"
    command_deployer(target).deploy(good.path, "staging", COMPONENT)
    deployer = command_deployer(target, deploy="sleep 30", timeout_s=0.5)
    with pytest.raises(DeploymentFailed) as caught:
        deployer.deploy(slow.path, "staging", COMPONENT)
    assert not isinstance(caught.value, HealthCheckFailed)
    outcome = caught.value.outcome
    assert outcome.health_summary.startswith("deploy command timed out after")
    assert outcome.rolled_back and outcome.duration_s < 10
    assert log_lines(target)[-1].startswith("rollback to ")
    assert not any(line.startswith("health") for line in log_lines(target)[2:])


def test_the_health_command_is_retried_until_it_passes(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    flaky = 'n=$(($(cat count 2>/dev/null || echo 0) + 1)); echo $n > count; [ "$n" -ge 2 ]'
    outcome = command_deployer(tmp_path / "target", health=flaky).deploy(bundle.path, "staging", COMPONENT)
    assert outcome.healthy and outcome.health_summary == "passed on attempt 2 of 2"


def test_a_failed_first_deploy_has_nothing_to_roll_back_to(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    target = tmp_path / "target"
    deployer = command_deployer(target, health="echo unhealthy; exit 3")
    with pytest.raises(HealthCheckFailed, match="unhealthy") as caught:
        deployer.deploy(bundle.path, "staging", COMPONENT)
    assert caught.value.outcome.live_release_id is None and not caught.value.outcome.rolled_back
    assert "rollback" not in (target / "log").read_text()
    assert deployer.healthy_release("staging", COMPONENT) is None


def test_a_failing_rollback_command_leaves_the_bad_release_current_and_says_so(tmp_path: Path) -> None:
    good = make_bundle(tmp_path, version="1.0.0")
    broken = make_bundle(tmp_path, version="1.0.1")
    target = tmp_path / "target"
    command_deployer(target).deploy(good.path, "staging", COMPONENT)
    (target / "broken").write_text(broken.sha256 + "\n")
    deployer = command_deployer(target, rollback="echo cannot reach cluster >&2; exit 1")
    with pytest.raises(HealthCheckFailed) as caught:
        deployer.deploy(broken.path, "staging", COMPONENT)
    outcome = caught.value.outcome
    assert not outcome.rolled_back and outcome.live_release_id == outcome.release_id
    assert "state is unknown" in outcome.message and "cannot reach cluster" in outcome.command_output
    assert deployer.healthy_release("staging", COMPONENT) is None


def test_rollback_runs_the_rollback_command_for_the_previous_healthy_release(tmp_path: Path) -> None:
    first_bundle = make_bundle(tmp_path, version="1.0.0")
    second_bundle = make_bundle(tmp_path, version="1.0.1")
    target = tmp_path / "target"
    deployer = command_deployer(target)
    first = deployer.deploy(first_bundle.path, "staging", COMPONENT)
    deployer.deploy(second_bundle.path, "staging", COMPONENT)
    outcome = deployer.rollback("staging", COMPONENT)
    assert outcome.action == "rollback" and outcome.healthy
    assert outcome.release_id == first.release_id == outcome.live_release_id
    assert log_lines(target)[-2:] == [f"rollback to {first.release_id}", f"health {first.release_id}"]
    assert (target / "live").read_text().strip() == first_bundle.sha256


def test_promotion_through_commands_deploys_the_staged_bundle(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)
    target = tmp_path / "target"
    deployer = command_deployer(target)
    deployer.deploy(bundle.path, "staging", COMPONENT)
    outcome = promote(deployer, bundle.path, COMPONENT)
    assert outcome.environment == "production" and outcome.healthy
    assert log_lines(target)[-2].startswith("deploy promote ")


def test_the_command_deployer_satisfies_the_deployer_protocol(tmp_path: Path) -> None:
    assert isinstance(command_deployer(tmp_path / "target"), Deployer)
