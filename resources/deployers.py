"""The deployer resources: which `Deployer` the deployment assets use is configuration, not code."""

from pathlib import Path
from typing import Protocol

import dagster as dg
from pydantic import Field

from resources.project import DEPLOY_ROOT_ENV, ProjectResource
from spec2prod_assets.deploy.command_deployer import CommandDeployer
from spec2prod_assets.deploy.local_deployer import LocalReleaseDeployer, PytestHealthCheck
from spec2prod_assets.deploy.model import Deployer


class DeployerResource(Protocol):
    """What the deployment assets need from a deployer resource, whichever kind is configured."""

    def get_deployer(self) -> Deployer: ...


class LocalDeployerResource(dg.ConfigurableResource):
    """Release folders on this machine (Capistrano style): the default, needs no service."""

    project: ProjectResource
    deploy_root: str | None = Field(
        default=None,
        description=f"Holds <env>/<component>/releases; unset: ${DEPLOY_ROOT_ENV}, else <work>/deploy.",
    )
    keep_releases: int = Field(default=5, description="Releases kept per environment, besides live/rollback.")
    health_attempts: int = Field(default=3, description="Health check attempts before a release is bad.")
    health_interval_s: float = Field(default=2.0, description="Wait before the 2nd attempt; doubles after.")
    health_timeout_s: float = Field(default=120.0, description="Time limit of one health check attempt.")

    def get_deployer(self) -> Deployer:
        return LocalReleaseDeployer(
            Path(self.deploy_root) if self.deploy_root else self.project.deploy_path,
            keep_releases=self.keep_releases,
            health_check=PytestHealthCheck(
                attempts=self.health_attempts,
                interval_s=self.health_interval_s,
                timeout_s=self.health_timeout_s,
            ),
        )


class CommandDeployerResource(dg.ConfigurableResource):
    """Your own deploy, health and rollback shell commands (docker compose, kubectl) for real targets."""

    deploy_command: str = Field(description="Shell line that deploys $SPEC2PROD_BUNDLE.")
    health_command: str = Field(description="Shell line that exits 0 when the deployed release is healthy.")
    rollback_command: str = Field(description="Shell line that returns the target to $SPEC2PROD_RELEASE_ID.")
    timeout_s: float = Field(default=600.0, description="Time limit of each command run.")
    state_root: str = Field(description="Folder for the lock, history and release records.")
    health_attempts: int = Field(default=3, description="Health command attempts before a release is bad.")
    health_interval_s: float = Field(default=2.0, description="Wait before the 2nd attempt; doubles after.")
    keep_releases: int = Field(default=10, description="Release records kept per environment.")
    working_dir: str = Field(default="", description="Where the commands run; empty: the current folder.")
    inherit_env: list[str] = Field(
        default_factory=list,
        description="Extra variables the commands may see, e.g. KUBECONFIG, DOCKER_HOST.",
    )

    def get_deployer(self) -> Deployer:
        return CommandDeployer(
            Path(self.state_root),
            deploy_command=self.deploy_command,
            health_command=self.health_command,
            rollback_command=self.rollback_command,
            timeout_s=self.timeout_s,
            health_attempts=self.health_attempts,
            health_interval_s=self.health_interval_s,
            keep_releases=self.keep_releases,
            working_dir=Path(self.working_dir) if self.working_dir else None,
            inherit_env=self.inherit_env,
        )
