"""A deployer for real targets: the user's own deploy, health and rollback commands.

Commands are shell lines (`docker compose up --wait`, `kubectl apply -f k8s/ && kubectl rollout status
deploy/app`) run by `/bin/sh -c` in `working_dir`, each with a timeout, in the allow-listed environment
of `commands.clean_env` (plus the variables named in `inherit_env`, e.g. KUBECONFIG) and:

    SPEC2PROD_BUNDLE               the release's bundle (tar.gz) as it was given to deploy
    SPEC2PROD_BUNDLE_SHA256        its sha256
    SPEC2PROD_RELEASE_ID           the release the command is about
    SPEC2PROD_ENVIRONMENT          e.g. staging
    SPEC2PROD_COMPONENT            the component slug
    SPEC2PROD_ACTION               deploy, promote or rollback
    SPEC2PROD_PREVIOUS_RELEASE_ID  the release live before ("" if none)

The rollback command is told the release to return to in SPEC2PROD_RELEASE_ID and SPEC2PROD_BUNDLE;
SPEC2PROD_PREVIOUS_RELEASE_ID names the validated release a failure would go back to.
What the target runs is tracked in the same release store as the local deployer (records, no files),
so the lock, the history, bad markers and the console commands work the same for both. `current` is
switched *before* a command touches the target: a deployer killed after its command never leaves
records that name the old release while the target runs the new one; the next deploy records the
interrupted release as failed (`store_repair`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from spec2prod_assets.deploy.model import (
    DeployAction,
    DeploymentFailed,
    DeploymentOutcome,
    HealthCheckFailed,
    HealthResult,
    check_with_retries,
)
from spec2prod_assets.deploy.state_store import ReleaseRecord, ReleaseStore, mark_bad_or_say_why
from spec2prod_assets.deploy.store_backed import NewRelease, StoreBackedDeployer
from spec2prod_assets.runtime.processes import CommandError, CommandResult, clean_env, run_command


def _verdict(result: CommandResult) -> str:
    if result.timed_out:
        return f"timed out after {result.duration_s:.1f}s"
    return "ok" if result.ok else f"failed with exit code {result.exit_code}"


def _section(name: str, result: CommandResult) -> str:
    return f"$ {name} command: {_verdict(result)} ({result.duration_s:.1f}s)\n{result.tail()}".rstrip()


class CommandDeployer(StoreBackedDeployer):
    """Runs user commands against a real target; implements `Deployer`."""

    def __init__(
        self,
        state_root: Path,
        *,
        deploy_command: str,
        health_command: str,
        rollback_command: str,
        timeout_s: float = 600.0,
        health_attempts: int = 3,
        health_interval_s: float = 2.0,
        keep_releases: int = 10,
        working_dir: Path | None = None,
        inherit_env: Sequence[str] = (),
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        if not (deploy_command.strip() and health_command.strip() and rollback_command.strip()):
            raise ValueError("the command deployer needs a deploy, a health and a rollback command")
        if timeout_s <= 0 or health_attempts < 1 or keep_releases < 1:
            raise ValueError(
                "the command deployer needs timeout_s > 0, health_attempts >= 1, keep_releases >= 1"
            )
        super().__init__(state_root)
        self.deploy_command = deploy_command
        self.health_command = health_command
        self.rollback_command = rollback_command
        self.timeout_s = timeout_s
        self.health_attempts = health_attempts
        self.health_interval_s = health_interval_s
        self.keep_releases = keep_releases
        self.working_dir = working_dir or Path.cwd()
        self.inherit_env = tuple(inherit_env)
        self._on_step = on_step
        """Called with 'after_command' once a deploy or rollback command returns: where tests crash it."""

    @property
    def state_root(self) -> Path:
        return self._root

    def _put_out(self, release: NewRelease) -> DeploymentOutcome:
        """Run the deploy command, then the health command; on failure the rollback command restores the
        previous release and `DeploymentFailed` (or `HealthCheckFailed`) is raised."""
        store = release.store
        record = release.mark_complete()
        store.prune(self.keep_releases)
        return self._apply(
            store, record, release.action, self.deploy_command, release.fallback, release.started
        )

    def _bring_back(
        self, store: ReleaseStore, record: ReleaseRecord, fallback: ReleaseRecord | None, started: float
    ) -> DeploymentOutcome:
        """Run the rollback command for `record` (`rollback` picked it), then the health command."""
        return self._apply(store, record, "rollback", self.rollback_command, fallback, started)

    def _apply(
        self,
        store: ReleaseStore,
        record: ReleaseRecord,
        action: DeployAction,
        command: str,
        previous: ReleaseRecord | None,
        started: float,
    ) -> DeploymentOutcome:
        env = self._env(record, action, previous)
        store.switch_current(record.release_id)  # from here on the target may run (part of) this release
        applied = self._run(command, env)
        if self._on_step is not None:
            self._on_step("after_command")
        logs = [_section(action, applied)]
        if applied.ok:
            health = check_with_retries(
                lambda: self._run(self.health_command, env),
                attempts=self.health_attempts,
                interval_s=self.health_interval_s,
            )
        else:
            health = HealthResult(
                ok=False, attempts=0, summary=f"{action} command {_verdict(applied)}", output=""
            )
        if health.ok:
            return store.conclude(record, action, health, started=started, command_output="\n".join(logs))
        rolled_back = False
        if previous is None:
            store.switch_current(None)
            message = "no earlier release to roll back to; the target keeps what the failed release left"
        else:
            restored = self._run(self.rollback_command, self._env(previous, "rollback", record))
            logs.append(_section("rollback", restored))
            if restored.ok:
                store.switch_current(previous.release_id)
                rolled_back = True
                message = f"the rollback command restored {previous.release_id}"
            else:
                message = (
                    f"the rollback command to {previous.release_id} {_verdict(restored)}: the target's state "
                    f"is unknown; current stays on the bad release {record.release_id}"
                )
        message += mark_bad_or_say_why(store, record.release_id, health.summary)
        outcome = store.conclude(
            record,
            action,
            health,
            started=started,
            rolled_back=rolled_back,
            message=message,
            command_output="\n".join(logs),
        )
        raise HealthCheckFailed(outcome) if applied.ok else DeploymentFailed(outcome)

    def _env(
        self, record: ReleaseRecord, action: DeployAction, previous: ReleaseRecord | None
    ) -> dict[str, str]:
        extra = {name: os.environ[name] for name in self.inherit_env if name in os.environ}
        extra.update(
            {
                "SPEC2PROD_BUNDLE": record.bundle_path,
                "SPEC2PROD_BUNDLE_SHA256": record.bundle_sha256,
                "SPEC2PROD_RELEASE_ID": record.release_id,
                "SPEC2PROD_ENVIRONMENT": record.environment,
                "SPEC2PROD_COMPONENT": record.component,
                "SPEC2PROD_ACTION": action,
                "SPEC2PROD_PREVIOUS_RELEASE_ID": previous.release_id if previous else "",
            }
        )
        return clean_env(extra)

    def _run(self, command: str, env: dict[str, str]) -> CommandResult:
        """Run one user command; one that cannot even start counts as failed, so the deploy fails closed."""
        try:
            return run_command(
                ["/bin/sh", "-c", command], cwd=self.working_dir, timeout_s=self.timeout_s, env=env
            )
        except CommandError as exc:
            return CommandResult(
                args=("/bin/sh", "-c", command), exit_code=127, stdout="", stderr=str(exc), duration_s=0.0
            )
