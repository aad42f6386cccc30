"""The default deployer: release folders on this machine, Capistrano style, no service needed.

A deploy unpacks the bundle into a new `releases/<release_id>/`, marks it complete, switches `current`
to it by one atomic rename and runs the release's own tests against it. If they fail, `current` goes
back first (to the validated fallback: never a missing, bad or unchecked release) and only then is the
release marked bad, so a failure to write the marker (a full disk) cannot leave the bad release live.
Each step is crash-safe: a deploy killed anywhere before the switch leaves the old release live, one
killed after it leaves a release that nothing treats as healthy, and the next deploy repairs both.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from spec2prod_assets.deploy.model import (
    DeployAction,
    DeploymentOutcome,
    HealthCheckFailed,
    HealthResult,
    check_with_retries,
)
from spec2prod_assets.deploy.state_store import ReleaseRecord, ReleaseStore, mark_bad_or_say_why
from spec2prod_assets.deploy.store_backed import NewRelease, StoreBackedDeployer
from spec2prod_assets.environment import ensure_environment
from spec2prod_assets.environment.tools import PLUGIN_MODULE
from spec2prod_assets.project.pytest_config import read_pytest_config
from spec2prod_assets.release.bundle import ReleaseManifest, read_manifest, unpack_bundle
from spec2prod_assets.runtime.processes import CommandResult, clean_env, python_tool, run_command
from spec2prod_assets.runtime.sandbox import Sandbox
from spec2prod_assets.storage.working_copies import import_root

HealthCheck = Callable[[Path, ReleaseManifest], HealthResult]
"""Checks the release unpacked in the given folder; the default runs its health tests with pytest."""

StepHook = Callable[[str], None]
"""Called at 'before_unpack', 'after_unpack', 'before_switch', 'after_switch', and after a failed health
check at 'before_switch_back' and 'after_switch_back': where tests crash a deploy."""


class PytestHealthCheck:
    """Run a release's health tests in a subprocess, importing the code from the release folder.

    PYTHONPATH is the release's source import root and the working folder is the release itself, so the
    tests exercise the deployed files, never the source tree. They run with the interpreter of the
    component's own environment, built (or reused) from the dependencies the manifest records, so a
    release that needs a third-party package is checked with it, and never with spec2prod's packages.
    The project's pytest configuration travels in the bundle and is used as it was in the candidate
    (`-c` names it; without one an empty configuration, so nothing above the deploy root is read). The
    tests run from the release folder, as they ran from the project, and it stays read-only: what the
    project's own options would write there (a JUnit report, coverage data) is turned off or sent to the
    sandbox's private /tmp.
    """

    def __init__(
        self,
        *,
        attempts: int = 3,
        interval_s: float = 2.0,
        timeout_s: float = 120.0,
        env_cache_root: Path | None = None,
        env_timeout_s: float = 600.0,
    ) -> None:
        if attempts < 1 or interval_s < 0 or timeout_s <= 0 or env_timeout_s <= 0:
            raise ValueError(
                "health check needs attempts >= 1, interval_s >= 0, timeout_s > 0 and env_timeout_s > 0"
            )
        self.attempts = attempts
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.env_cache_root = env_cache_root
        self.env_timeout_s = env_timeout_s

    def __call__(self, release_dir: Path, manifest: ReleaseManifest) -> HealthResult:
        # Built once, outside the attempts: an environment that cannot be built is no flaky check, and the
        # error (raised) says why the check could not run.
        environment = ensure_environment(
            manifest.dependencies, cache_root=self.env_cache_root, timeout_s=self.env_timeout_s
        )
        config = read_pytest_config(release_dir).path
        args = [
            *python_tool("pytest", python=environment.python),
            "-q",
            "-p",
            "no:cacheprovider",
            # Registers the `spec` marker generated tests carry, for projects run with --strict-markers.
            "-p",
            PLUGIN_MODULE,
            "-c",
            str(release_dir / config) if config else os.devnull,
            "--rootdir",
            str(release_dir),
            # After the project's addopts, so these win: nothing may be written into the release.
            "--no-cov",
            f"--junitxml={Path(tempfile.gettempdir()) / f'spec2prod-health-{uuid.uuid4().hex}.xml'}",
            *manifest.health_tests,
        ]
        env = clean_env({"PYTHONPATH": str(release_dir / import_root(manifest.source_path))})

        def check_once() -> CommandResult:
            # The release's own tests are untrusted code run beside the live release: sandboxed, with
            # the release folder read-only, so a health check can never change what it checks.
            return run_command(
                args,
                cwd=release_dir,
                timeout_s=self.timeout_s,
                env=env,
                sandbox=Sandbox(writable=(), readable=environment.readable_roots),
            )

        return check_with_retries(check_once, attempts=self.attempts, interval_s=self.interval_s)


class LocalReleaseDeployer(StoreBackedDeployer):
    """Release folders under `deploy_root`; implements `Deployer`."""

    def __init__(
        self,
        deploy_root: Path,
        *,
        keep_releases: int = 5,
        health_check: HealthCheck | None = None,
        on_step: StepHook | None = None,
    ) -> None:
        if keep_releases < 1:
            raise ValueError(f"keep_releases must be at least 1, got {keep_releases}")
        super().__init__(deploy_root)
        self.keep_releases = keep_releases
        self.health_check: HealthCheck = health_check or PytestHealthCheck()
        self._on_step = on_step

    @property
    def deploy_root(self) -> Path:
        return self._root

    def _step(self, name: str) -> None:
        if self._on_step is not None:
            self._on_step(name)

    def _put_out(self, release: NewRelease) -> DeploymentOutcome:
        """Unpack, switch, check; raises `HealthCheckFailed` (after switching back) if unhealthy."""
        store = release.store
        self._step("before_unpack")
        unpack_bundle(
            release.bundle_path, store.release_dir(release.release_id), expected_sha256=release.bundle_sha256
        )
        self._step("after_unpack")
        record = release.mark_complete()
        self._step("before_switch")
        outcome = self._activate(store, record, release.action, release.fallback, release.started)
        store.prune(self.keep_releases)
        return _healthy_or_raise(outcome)

    def _bring_back(
        self, store: ReleaseStore, record: ReleaseRecord, fallback: ReleaseRecord | None, started: float
    ) -> DeploymentOutcome:
        return _healthy_or_raise(self._activate(store, record, "rollback", fallback, started))

    def _activate(
        self,
        store: ReleaseStore,
        record: ReleaseRecord,
        action: DeployAction,
        previous: ReleaseRecord | None,
        started: float,
    ) -> DeploymentOutcome:
        release_dir = store.release_dir(record.release_id)
        store.switch_current(record.release_id)
        self._step("after_switch")
        try:
            health = self.health_check(release_dir, read_manifest(release_dir))
        except Exception as exc:  # a check that cannot run has not shown the release healthy
            health = HealthResult(
                ok=False, attempts=0, summary="health check could not run", output=repr(exc)
            )
        if health.ok:
            return store.conclude(record, action, health, started=started)
        self._step("before_switch_back")
        if previous is not None:
            store.switch_current(previous.release_id)
            message = f"health check failed; current switched back to {previous.release_id}"
        else:
            store.switch_current(None)
            message = "health check failed and no earlier healthy release; current removed: nothing to serve"
        self._step("after_switch_back")
        message += mark_bad_or_say_why(store, record.release_id, health.summary)
        return store.conclude(
            record, action, health, started=started, rolled_back=previous is not None, message=message
        )


def _healthy_or_raise(outcome: DeploymentOutcome) -> DeploymentOutcome:
    if not outcome.healthy:
        raise HealthCheckFailed(outcome)
    return outcome
