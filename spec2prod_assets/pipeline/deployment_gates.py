"""How the deployment assets turn a deployer's answer into Dagster's: fail loudly, check independently."""

from __future__ import annotations

import logging
from collections.abc import Callable

import dagster as dg

from spec2prod_assets.deploy.model import (
    Deployer,
    DeployError,
    DeploymentFailed,
    DeploymentOutcome,
)
from spec2prod_assets.pipeline.metadata import deployment_metadata

STAGING = "staging"
PRODUCTION = "production"


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
        check_name="healthy",
        passed=passed,
        metadata={"release_id": outcome.release_id, "live_release_id": live.release_id if live else ""},
        description=(
            f"{environment} serves the healthy release {outcome.release_id}"
            if passed
            else f"{environment} does not serve {outcome.release_id} as a healthy release"
        ),
    )
