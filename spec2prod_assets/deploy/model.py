"""What every deployer promises, so the deployment assets never depend on where a release goes.

`staging_deployment` and `production_deployment` talk to a `Deployer` only; the local release folders and
the user's own deploy commands are two implementations of it. Promotion is defined here, once, because
the rule "production gets exactly the bytes staging checked" must not depend on the deployer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from spec2prod_assets.release.bundle import bundle_sha256, file_sha256, verify_bundle
from spec2prod_assets.runtime.processes import CommandResult

STAGING = "staging"
PRODUCTION = "production"
"""The environments the pipeline deploys to, in promotion order; deployers accept any valid name."""

DeployAction = Literal["deploy", "promote", "rollback"]
Outcome = Literal["healthy", "rolled_back", "failed"]
"""`rolled_back`: unhealthy, and the previous release is live again; `failed`: unhealthy, nothing restored."""


class HealthResult(BaseModel):
    """The verdict of a health check after its retries."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    attempts: int = Field(ge=0, description="Attempts made; 0 when the check could not start.")
    summary: str = Field(description="One line for history and tables, e.g. 'passed on attempt 1 of 3'.")
    output: str = Field(description="The tail of the last attempt's output.")
    duration_s: float = 0.0


class HistoryEntry(BaseModel):
    """One line of an environment's append-only history."""

    model_config = ConfigDict(frozen=True)

    time: str = Field(description="ISO 8601, UTC.")
    environment: str
    component: str
    release_id: str
    bundle_sha256: str
    action: DeployAction
    outcome: Outcome
    health: str = Field(description="The health check's summary.")
    duration_s: float
    message: str = ""


class ReleaseInfo(BaseModel):
    """One release known to an environment."""

    model_config = ConfigDict(frozen=True)

    release_id: str
    bundle_sha256: str
    created: str
    is_current: bool
    is_bad: bool


class DeploymentOutcome(BaseModel):
    """What a deploy, promotion or rollback did; the deployment assets' metadata come from here."""

    model_config = ConfigDict(frozen=True)

    environment: str
    component: str
    release_id: str
    bundle_sha256: str
    action: DeployAction
    healthy: bool
    rolled_back: bool = Field(description="The release failed and the previous one was switched back.")
    live_release_id: str | None = Field(description="What `current` names afterwards; None: nothing live.")
    health_summary: str
    health_output: str = Field(description="Tail of the health check's output.")
    command_output: str = Field(default="", description="Tails of deploy/rollback commands, if any ran.")
    message: str = ""
    duration_s: float
    history_tail: tuple[HistoryEntry, ...] = ()


class DeployError(RuntimeError):
    """A deployment that could not be done; nothing was switched unless the subclass says otherwise."""


class DeployLockedError(DeployError):
    """Another deploy holds the environment; the message names the holder."""


class PromotionRefusedError(DeployError):
    """The bundle offered to production is not the one that passed staging."""


class DeploymentFailed(DeployError):
    """The release went out but is not healthy; `outcome` says what was restored."""

    def __init__(self, outcome: DeploymentOutcome) -> None:
        super().__init__(
            f"{outcome.action} of {outcome.component} release {outcome.release_id} to {outcome.environment} "
            f"is unhealthy ({outcome.health_summary}); {outcome.message}\n{outcome.health_output}"
        )
        self.outcome = outcome


class HealthCheckFailed(DeploymentFailed):
    """The release's health check failed after all its attempts."""


@runtime_checkable
class Deployer(Protocol):
    def deploy(
        self, bundle_path: Path, environment: str, component: str, *, action: DeployAction = "deploy"
    ) -> DeploymentOutcome: ...

    def rollback(
        self, environment: str, component: str, to_release: str | None = None
    ) -> DeploymentOutcome: ...

    def releases(self, environment: str, component: str) -> list[ReleaseInfo]: ...

    def history(self, environment: str, component: str) -> list[HistoryEntry]: ...

    def healthy_release(self, environment: str, component: str) -> ReleaseInfo | None: ...


def check_bundle(bundle_path: Path, component: str) -> str:
    """Verify a bundle before anything moves and return its sha256; another component's bundle is refused."""
    manifest = verify_bundle(bundle_path)
    if manifest.component != component:
        raise DeployError(
            f"bundle {bundle_path.name} is for component {manifest.component!r}, not {component!r}"
        )
    return bundle_sha256(bundle_path)


def check_with_retries(
    attempt: Callable[[], CommandResult], *, attempts: int, interval_s: float
) -> HealthResult:
    """Retry a health check with backoff: a freshly switched release may need a moment to come up, but a
    broken one must fail in bounded time."""
    if attempts < 1:
        raise ValueError(f"health check attempts must be at least 1, got {attempts}")
    started = time.perf_counter()
    for number in range(1, attempts + 1):
        result = attempt()
        if result.ok or number == attempts:
            break
        time.sleep(interval_s * 2 ** (number - 1))
    if result.ok:
        summary = f"passed on attempt {number} of {attempts}"
    else:
        reason = "timed out" if result.timed_out else f"exit code {result.exit_code}"
        summary = f"failed all {attempts} attempts (last: {reason})"
    return HealthResult(
        ok=result.ok,
        attempts=number,
        summary=summary,
        output=result.tail(),
        duration_s=time.perf_counter() - started,
    )


def promote(
    deployer: Deployer,
    bundle_path: Path,
    component: str,
    *,
    from_environment: str = STAGING,
    to_environment: str = PRODUCTION,
    source: Deployer | None = None,
) -> DeploymentOutcome:
    """Deploy `bundle_path` to `to_environment` only if it is byte for byte the healthy release of
    `from_environment` (read from `source`, default the same deployer)."""
    claimed = bundle_sha256(bundle_path)
    actual = file_sha256(bundle_path) if bundle_path.is_file() else "(missing file)"
    staged = (source or deployer).healthy_release(from_environment, component)
    if staged is None:
        raise PromotionRefusedError(
            f"refusing to promote {component} bundle {actual} to {to_environment}: "
            f"{from_environment} has no healthy release of {component}"
        )
    if actual != staged.bundle_sha256 or claimed != staged.bundle_sha256:
        raise PromotionRefusedError(
            f"refusing to promote {component} bundle {actual} to {to_environment}: the healthy "
            f"{from_environment} release {staged.release_id} has bundle {staged.bundle_sha256}"
        )
    return deployer.deploy(bundle_path, to_environment, component, action="promote")
