"""The half of a deployer that does not depend on where releases go: the release store around them.

Both deployers verify a bundle, take the environment's lock, repair what a dead deploy left, pick a
validated release to switch back to, and read their releases and history back the same way; only how a
release is put out and made live differs.
Keeping that order in one place is what lets the lock, the history and the console commands behave
alike for every deployer.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from spec2prod_assets.deploy.model import (
    DeployAction,
    DeploymentOutcome,
    HistoryEntry,
    ReleaseInfo,
    check_bundle,
)
from spec2prod_assets.deploy.state_store import ReleaseRecord, ReleaseStore, new_release_id
from spec2prod_assets.deploy.store_repair import repair


@dataclass(frozen=True)
class NewRelease:
    """A deploy or promotion that holds its environment's lock; its release is not complete yet."""

    store: ReleaseStore
    release_id: str
    bundle_sha256: str
    bundle_path: Path
    action: DeployAction
    fallback: ReleaseRecord | None
    """Where `current` goes back if this release fails: the live release when it is complete, not bad
    and was healthy, else the newest such release; None: nothing good to go back to."""
    started: float

    def mark_complete(self) -> ReleaseRecord:
        """From here on the release exists for everyone (see `ReleaseStore.mark_complete`)."""
        return self.store.mark_complete(self.release_id, self.bundle_sha256, self.bundle_path)


class StoreBackedDeployer(ABC):
    """A `Deployer` whose environments are `ReleaseStore`s under `root`; subclasses say how a release
    goes out (`_put_out`) and how an earlier one comes back (`_bring_back`)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _store(self, environment: str, component: str) -> ReleaseStore:
        return ReleaseStore(self._root, environment, component)

    def deploy(
        self, bundle_path: Path, environment: str, component: str, *, action: DeployAction = "deploy"
    ) -> DeploymentOutcome:
        """Put out a verified bundle as a new release; raises `DeploymentFailed` (usually its subclass
        `HealthCheckFailed`) when the release is not healthy, after restoring what the deployer can."""
        started = time.perf_counter()
        sha = check_bundle(bundle_path, component)
        store = self._store(environment, component)
        release_id = new_release_id(sha)
        with store.locked(release_id, action):
            repair(store)
            fallback = store.switch_back_target(exclude=release_id)
            release = NewRelease(store, release_id, sha, bundle_path, action, fallback, started)
            return self._put_out(release)

    def rollback(self, environment: str, component: str, to_release: str | None = None) -> DeploymentOutcome:
        """Make an earlier release live: `to_release`, or the previous healthy one (bad ones skipped)."""
        started = time.perf_counter()
        store = self._store(environment, component).require_existing()
        with store.locked(to_release or "the previous healthy release", "rollback"):
            repair(store)
            record = store.choose_rollback(store.current_id(), to_release)
            fallback = store.switch_back_target(exclude=record.release_id)
            return self._bring_back(store, record, fallback, started)

    @abstractmethod
    def _put_out(self, release: NewRelease) -> DeploymentOutcome:
        """Complete, switch to and check `release`, under its lock."""

    @abstractmethod
    def _bring_back(
        self, store: ReleaseStore, record: ReleaseRecord, fallback: ReleaseRecord | None, started: float
    ) -> DeploymentOutcome:
        """Switch to `record` and check it, under the lock; if it fails, `current` goes to `fallback`."""

    def releases(self, environment: str, component: str) -> list[ReleaseInfo]:
        return self._store(environment, component).infos()

    def history(self, environment: str, component: str) -> list[HistoryEntry]:
        return self._store(environment, component).history()

    def healthy_release(self, environment: str, component: str) -> ReleaseInfo | None:
        return self._store(environment, component).healthy_release()
