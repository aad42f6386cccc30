from __future__ import annotations

from pathlib import Path

import dagster as dg

from resources.deployers import CommandDeployerResource, LocalDeployerResource
from resources.project import ProjectResource
from spec2prod_assets.deploy.command_deployer import CommandDeployer
from spec2prod_assets.deploy.local_deployer import LocalReleaseDeployer, PytestHealthCheck
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
