"""A pretend target for the command deployer, shared by its tests and the kill-point tests.

The commands run in `target`: `live` holds the sha256 it serves, `log` one line per command, and the
target is unhealthy while the live sha256 is listed in `broken`. The deployer's state is `target/state`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from spec2prod_assets.deploy.command_deployer import CommandDeployer

DEPLOY = (
    'echo "deploy $SPEC2PROD_ACTION $SPEC2PROD_RELEASE_ID" >> log; echo "$SPEC2PROD_BUNDLE_SHA256" > live'
)
HEALTH = 'echo "health $SPEC2PROD_RELEASE_ID" >> log; ! grep -qx "$(cat live)" broken 2>/dev/null'
ROLLBACK = 'echo "rollback to $SPEC2PROD_RELEASE_ID" >> log; echo "$SPEC2PROD_BUNDLE_SHA256" > live'


def command_deployer(
    target: Path,
    *,
    deploy: str = DEPLOY,
    health: str = HEALTH,
    rollback: str = ROLLBACK,
    timeout_s: float = 10.0,
    inherit_env: tuple[str, ...] = (),
    on_step: Callable[[str], None] | None = None,
) -> CommandDeployer:
    target.mkdir(exist_ok=True)
    return CommandDeployer(
        target / "state",
        deploy_command=deploy,
        health_command=health,
        rollback_command=rollback,
        timeout_s=timeout_s,
        health_attempts=2,
        health_interval_s=0.01,
        working_dir=target,
        inherit_env=inherit_env,
        on_step=on_step,
    )


def log_lines(target: Path) -> list[str]:
    return (target / "log").read_text().splitlines()
