"""The deployer resources: which `Deployer` the deployment assets use is configuration, not code."""

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import dagster as dg
from pydantic import Field

from resources.env_vars import EnvVarError, env_choice, env_float, env_int, env_setting
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


DEPLOYER_ENV = "SPEC2PROD_DEPLOYER"
DEPLOY_COMMAND_ENV = "SPEC2PROD_DEPLOY_COMMAND"
HEALTH_COMMAND_ENV = "SPEC2PROD_HEALTH_COMMAND"
ROLLBACK_COMMAND_ENV = "SPEC2PROD_ROLLBACK_COMMAND"
STATE_ROOT_ENV = "SPEC2PROD_DEPLOY_STATE_ROOT"
WORKING_DIR_ENV = "SPEC2PROD_DEPLOY_WORKING_DIR"
TIMEOUT_ENV = "SPEC2PROD_DEPLOY_TIMEOUT_S"
INHERIT_ENV_ENV = "SPEC2PROD_DEPLOY_INHERIT_ENV"
HEALTH_ATTEMPTS_ENV = "SPEC2PROD_HEALTH_ATTEMPTS"
HEALTH_INTERVAL_ENV = "SPEC2PROD_HEALTH_INTERVAL_S"
KEEP_RELEASES_ENV = "SPEC2PROD_KEEP_RELEASES"
_COMMAND_ONLY = (
    DEPLOY_COMMAND_ENV,
    HEALTH_COMMAND_ENV,
    ROLLBACK_COMMAND_ENV,
    STATE_ROOT_ENV,
    WORKING_DIR_ENV,
    TIMEOUT_ENV,
    INHERIT_ENV_ENV,
)
# Every variable that steers the deployer, so tests can keep a developer's settings out.
DEPLOYER_SETTINGS_ENV = (
    DEPLOYER_ENV,
    *_COMMAND_ONLY,
    HEALTH_ATTEMPTS_ENV,
    HEALTH_INTERVAL_ENV,
    KEEP_RELEASES_ENV,
)
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def deployer_from_env(
    project: Any, env: Mapping[str, str] = os.environ
) -> LocalDeployerResource | CommandDeployerResource:
    """The deployer resource `SPEC2PROD_DEPLOYER` names: `local` (the default, also when unset) or
    `command`, configured from the SPEC2PROD_* variables of docs/deployers.md.

    `project` is a `ProjectResource` or the partial one of `ProjectResource.configure_at_launch()` (dagster
    keeps that type private, hence `Any`). Configuration that is incomplete, unknown or meant for the
    other deployer raises `EnvVarError` naming the variable: a typo must not silently deploy locally.
    """
    kind = env_choice(DEPLOYER_ENV, ("local", "command"), env=env) or "local"
    optional: dict[str, float | None] = {
        "health_attempts": env_int(HEALTH_ATTEMPTS_ENV, at_least=1, env=env),
        "health_interval_s": env_float(HEALTH_INTERVAL_ENV, at_least=0.0, unit="seconds", env=env),
        "keep_releases": env_int(KEEP_RELEASES_ENV, at_least=1, env=env),
    }
    if kind == "local":
        stray = next((name for name in _COMMAND_ONLY if env_setting(name, env)), None)
        if stray is not None:
            raise EnvVarError(
                stray, f"{stray} is set, but {DEPLOYER_ENV} is not 'command': set {DEPLOYER_ENV}=command"
            )
        return LocalDeployerResource(project=project, **_given(optional))
    optional["timeout_s"] = env_float(TIMEOUT_ENV, at_least=0.0, strictly=True, unit="seconds", env=env)
    inherit = env_setting(INHERIT_ENV_ENV, env).replace(",", " ").split()
    bad_name = next((name for name in inherit if not _ENV_NAME_RE.match(name)), None)
    if bad_name is not None:
        raise EnvVarError(
            INHERIT_ENV_ENV, f"{INHERIT_ENV_ENV} lists {bad_name!r}, which is not a variable name"
        )
    return CommandDeployerResource(
        deploy_command=_required(env, DEPLOY_COMMAND_ENV, "the shell line that deploys $SPEC2PROD_BUNDLE"),
        health_command=_required(env, HEALTH_COMMAND_ENV, "the shell line that exits 0 when it is healthy"),
        rollback_command=_required(
            env, ROLLBACK_COMMAND_ENV, "the shell line that goes back to $SPEC2PROD_RELEASE_ID"
        ),
        state_root=_required(env, STATE_ROOT_ENV, "the folder for the lock, history and release records"),
        working_dir=env_setting(WORKING_DIR_ENV, env),
        inherit_env=inherit,
        **_given(optional),
    )


def _required(env: Mapping[str, str], name: str, meaning: str) -> str:
    value = env_setting(name, env)
    if not value:
        raise EnvVarError(name, f"{DEPLOYER_ENV}=command needs {name}: {meaning}")
    return value


def _given(settings: Mapping[str, float | None]) -> dict[str, Any]:
    """The settings whose variable is set; the others keep the resource's own default."""
    return {field: value for field, value in settings.items() if value is not None}
