from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest

from resources.deployers import (
    DEPLOY_COMMAND_ENV,
    DEPLOYER_ENV,
    HEALTH_ATTEMPTS_ENV,
    HEALTH_COMMAND_ENV,
    HEALTH_INTERVAL_ENV,
    INHERIT_ENV_ENV,
    KEEP_RELEASES_ENV,
    ROLLBACK_COMMAND_ENV,
    STATE_ROOT_ENV,
    TIMEOUT_ENV,
    WORKING_DIR_ENV,
    CommandDeployerResource,
    DeployerResource,
    LocalDeployerResource,
    deployer_from_env,
)
from resources.env_vars import EnvVarError
from resources.project import ProjectResource
from spec2prod_assets.deploy.command_deployer import CommandDeployer
from spec2prod_assets.deploy.local_deployer import LocalReleaseDeployer, PytestHealthCheck
from spec2prod_assets.deploy.model import HealthCheckFailed
from tests.support.tiny_component import COMPONENT, make_bundle


def test_the_local_resource_builds_a_local_deployer_with_its_settings(tmp_path: Path) -> None:
    resource = LocalDeployerResource(
        project=ProjectResource(root=str(tmp_path)),
        deploy_root=str(tmp_path),
        keep_releases=3,
        health_attempts=4,
        health_interval_s=0.5,
        health_timeout_s=9,
    )
    deployer = resource.get_deployer()
    assert isinstance(deployer, LocalReleaseDeployer)
    assert deployer.deploy_root == tmp_path and deployer.keep_releases == 3
    check = deployer.health_check
    assert isinstance(check, PytestHealthCheck)
    assert (check.attempts, check.interval_s, check.timeout_s) == (4, 0.5, 9)


def test_the_local_deploy_root_defaults_to_the_project_work_folder(tmp_path: Path) -> None:
    resource = LocalDeployerResource(project=ProjectResource(root=str(tmp_path)))
    deployer = resource.get_deployer()
    assert isinstance(deployer, LocalReleaseDeployer)
    assert deployer.deploy_root == tmp_path.resolve() / ".spec2prod" / "deploy"


def test_the_command_resource_builds_a_command_deployer_with_its_commands(tmp_path: Path) -> None:
    resource = CommandDeployerResource(
        deploy_command="docker compose up --wait",
        health_command="curl -fsS localhost:8080/health",
        rollback_command="docker compose down",
        timeout_s=30,
        state_root=str(tmp_path / "state"),
        inherit_env=["DOCKER_HOST"],
    )
    deployer = resource.get_deployer()
    assert isinstance(deployer, CommandDeployer)
    assert deployer.deploy_command == "docker compose up --wait" and deployer.timeout_s == 30
    assert deployer.state_root == tmp_path / "state" and deployer.inherit_env == ("DOCKER_HOST",)


def test_an_asset_deploys_a_real_bundle_through_the_local_resource(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)

    @dg.asset
    def staged(deployer: LocalDeployerResource) -> dg.MaterializeResult:
        outcome = deployer.get_deployer().deploy(bundle.path, "staging", COMPONENT)
        return dg.MaterializeResult(metadata={"release_id": outcome.release_id, "healthy": outcome.healthy})

    resource = LocalDeployerResource(
        project=ProjectResource(root=str(tmp_path)),
        deploy_root=str(tmp_path / "deploy"),
        health_interval_s=0.05,
    )
    result = dg.materialize([staged], resources={"deployer": resource})
    assert result.success
    metadata = result.asset_materializations_for_node("staged")[0].metadata
    assert metadata["healthy"].value is True
    assert str(metadata["release_id"].value).endswith(bundle.sha256[:12])


def test_an_asset_deploys_through_the_command_resource(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path)

    @dg.asset
    def staged(deployer: CommandDeployerResource) -> dg.MaterializeResult:
        outcome = deployer.get_deployer().deploy(bundle.path, "staging", COMPONENT)
        return dg.MaterializeResult(metadata={"healthy": outcome.healthy})

    resource = CommandDeployerResource(
        deploy_command='echo "$SPEC2PROD_BUNDLE_SHA256" > deployed',
        health_command="test -s deployed",
        rollback_command="true",
        timeout_s=10,
        state_root=str(tmp_path / "state"),
        working_dir=str(tmp_path),
    )
    result = dg.materialize([staged], resources={"deployer": resource})
    assert result.success
    assert (tmp_path / "deployed").read_text().strip() == bundle.sha256


# --- choosing the deployer from SPEC2PROD_* variables (deployer_from_env) ---

_COMMANDS = {
    DEPLOY_COMMAND_ENV: "docker compose up --wait",
    HEALTH_COMMAND_ENV: "curl -fsS localhost:8080/health",
    ROLLBACK_COMMAND_ENV: "docker compose up --wait",
    STATE_ROOT_ENV: "/var/lib/spec2prod",
}


def _command_env(**overrides: str) -> dict[str, str]:
    return {DEPLOYER_ENV: "command", **_COMMANDS, **overrides}


def test_without_configuration_the_deployer_is_the_local_one_with_its_defaults(tmp_path: Path) -> None:
    project = ProjectResource(root=str(tmp_path))
    assert deployer_from_env(project, {}) == LocalDeployerResource(project=project)
    assert deployer_from_env(project, {DEPLOYER_ENV: " Local "}) == LocalDeployerResource(project=project)


def test_the_shared_health_and_retention_settings_reach_the_local_deployer(tmp_path: Path) -> None:
    env = {HEALTH_ATTEMPTS_ENV: "5", HEALTH_INTERVAL_ENV: "0.5", KEEP_RELEASES_ENV: "7"}
    resource = deployer_from_env(ProjectResource(root=str(tmp_path)), env)
    assert isinstance(resource, LocalDeployerResource)
    assert (resource.health_attempts, resource.health_interval_s, resource.keep_releases) == (5, 0.5, 7)


def test_the_command_deployer_is_configured_from_its_variables() -> None:
    env = _command_env(
        **{
            WORKING_DIR_ENV: "/srv/app",
            TIMEOUT_ENV: "90",
            INHERIT_ENV_ENV: "KUBECONFIG, DOCKER_HOST",
            HEALTH_ATTEMPTS_ENV: "6",
        }
    )
    resource = deployer_from_env(None, env)
    assert isinstance(resource, CommandDeployerResource)
    assert (resource.deploy_command, resource.health_command, resource.state_root) == (
        "docker compose up --wait",
        "curl -fsS localhost:8080/health",
        "/var/lib/spec2prod",
    )
    assert (resource.working_dir, resource.timeout_s, resource.health_attempts) == ("/srv/app", 90, 6)
    assert resource.inherit_env == ["KUBECONFIG", "DOCKER_HOST"] and resource.keep_releases == 10
    deployer = resource.get_deployer()
    assert isinstance(deployer, CommandDeployer) and deployer.working_dir == Path("/srv/app")


@pytest.mark.parametrize(
    "missing", [DEPLOY_COMMAND_ENV, HEALTH_COMMAND_ENV, ROLLBACK_COMMAND_ENV, STATE_ROOT_ENV]
)
def test_a_command_deployer_without_a_required_variable_names_it(missing: str) -> None:
    with pytest.raises(EnvVarError, match=f"^SPEC2PROD_DEPLOYER=command needs {missing}: ") as caught:
        deployer_from_env(None, _command_env(**{missing: "  "}))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {DEPLOYER_ENV: "kubectl"},
            "SPEC2PROD_DEPLOYER='kubectl': must be one of local, command",
        ),
        (
            {DEPLOY_COMMAND_ENV: "make deploy"},
            "SPEC2PROD_DEPLOY_COMMAND is set, but SPEC2PROD_DEPLOYER is not 'command': "
            "set SPEC2PROD_DEPLOYER=command",
        ),
        ({DEPLOYER_ENV: "local", TIMEOUT_ENV: "30"}, "SPEC2PROD_DEPLOY_TIMEOUT_S is set, but"),
        ({HEALTH_ATTEMPTS_ENV: "0"}, "SPEC2PROD_HEALTH_ATTEMPTS='0': must be a whole number >= 1"),
        ({KEEP_RELEASES_ENV: "2.5"}, "SPEC2PROD_KEEP_RELEASES='2.5': must be a whole number >= 1"),
        (
            {HEALTH_INTERVAL_ENV: "soon"},
            "SPEC2PROD_HEALTH_INTERVAL_S='soon': must be a number of seconds >= 0",
        ),
        (
            _command_env(**{TIMEOUT_ENV: "0"}),
            "SPEC2PROD_DEPLOY_TIMEOUT_S='0': must be a number of seconds > 0",
        ),
        (
            _command_env(**{INHERIT_ENV_ENV: "KUBECONFIG,$HOME"}),
            "SPEC2PROD_DEPLOY_INHERIT_ENV lists '$HOME', which is not a variable name",
        ),
    ],
)
def test_bad_deployer_configuration_fails_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(EnvVarError, match="^" + re.escape(message)):
        deployer_from_env(None, env)


def test_the_configured_command_deployer_deploys_checks_and_rolls_back_for_real(tmp_path: Path) -> None:
    """The pretend target serves the sha256 in `live` and is unhealthy while it is listed in `broken`."""
    first, second, broken = (make_bundle(tmp_path, version=v) for v in ("1.0.0", "1.0.1", "1.0.2"))
    target = tmp_path / "target"
    target.mkdir()
    (target / "broken").write_text(broken.sha256 + "\n")
    resource = deployer_from_env(
        None,
        {
            DEPLOYER_ENV: "command",
            DEPLOY_COMMAND_ENV: 'echo "$SPEC2PROD_BUNDLE_SHA256" > live',
            HEALTH_COMMAND_ENV: '! grep -qx "$(cat live)" broken',
            ROLLBACK_COMMAND_ENV: 'echo "$SPEC2PROD_BUNDLE_SHA256" > live; '
            'echo "$SPEC2PROD_RELEASE_ID" >> rollbacks',
            STATE_ROOT_ENV: str(tmp_path / "state"),
            WORKING_DIR_ENV: str(target),
            TIMEOUT_ENV: "10",
            HEALTH_ATTEMPTS_ENV: "1",
        },
    )

    @dg.asset
    def staged(deployer: dg.ResourceParam[DeployerResource]) -> dg.MaterializeResult:
        target_deployer = deployer.get_deployer()
        target_deployer.deploy(first.path, "staging", COMPONENT)
        kept = target_deployer.deploy(second.path, "staging", COMPONENT)
        with pytest.raises(HealthCheckFailed) as caught:
            target_deployer.deploy(broken.path, "staging", COMPONENT)
        failed = caught.value.outcome
        return dg.MaterializeResult(
            metadata={
                "kept": kept.release_id,
                "rolled_back": failed.rolled_back,
                "live": failed.live_release_id,
            }
        )

    result = dg.materialize([staged], resources={"deployer": resource})
    assert result.success
    metadata = result.asset_materializations_for_node("staged")[0].metadata
    assert metadata["rolled_back"].value is True and metadata["live"].value == metadata["kept"].value
    assert (target / "live").read_text().strip() == second.sha256

    deployer = resource.get_deployer()
    back = deployer.rollback("staging", COMPONENT)
    assert back.healthy and (target / "live").read_text().strip() == first.sha256
    assert (target / "rollbacks").read_text().split() == [str(metadata["kept"].value), back.release_id]
    assert [entry.outcome for entry in deployer.history("staging", COMPONENT)] == [
        "healthy",
        "healthy",
        "rolled_back",
        "healthy",
    ]
