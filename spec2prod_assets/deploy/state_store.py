"""The on-disk state of one environment of one component, shared by every deployer.

Layout under `<root>/<environment>/<component>/`:

    releases/<release_id>/release.json   completion marker (written last, atomically): id, full sha256
    releases/<release_id>/BAD            the release failed its health check; rollbacks skip it
    current -> releases/<release_id>     the live release, switched by one atomic rename
    history.jsonl                        append-only, one `HistoryEntry` per line
    deploy.lock, deploy.lock.json        the kernel lock and the holder it names

Everything that changes this state runs under `locked()`: one deploy or rollback at a time, so an
incomplete release found while holding the lock belongs to a deploy that died and can be removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import filelock
from pydantic import BaseModel, ConfigDict, ValidationError

from spec2prod_assets.deploy.model import (
    DeployAction,
    DeployError,
    DeployLockedError,
    DeploymentOutcome,
    HealthResult,
    HistoryEntry,
    Outcome,
    ReleaseInfo,
)
from spec2prod_assets.storage.atomic_files import write_text_atomically

RELEASE_MARKER = "release.json"
BAD_MARKER = "BAD"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_RELEASE_ID_RE = re.compile(r"^\d{8}T\d{12}-[0-9a-f]{12}$")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def new_release_id(bundle_sha256: str) -> str:
    """Sortable by time, and carrying the bundle's hash so a listing shows what each release is."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{bundle_sha256[:12]}"


def check_release_id(release_id: str) -> str:
    if not _RELEASE_ID_RE.match(release_id):
        raise DeployError(
            f"{release_id!r} is not a release id (expected yyyymmddTHHMMSSffffff-<sha256[:12]>)"
        )
    return release_id


class ReleaseRecord(BaseModel):
    """The completion marker of a release; a release without one does not exist for anyone."""

    model_config = ConfigDict(frozen=True)

    release_id: str
    bundle_sha256: str
    bundle_path: str
    created: str
    environment: str
    component: str


class LockHolder(BaseModel):
    model_config = ConfigDict(frozen=True)

    pid: int
    host: str
    since: str
    release: str
    action: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since} ({self.action} of {self.release})"


class ReleaseStore:
    """Releases, `current`, history and lock of one environment of one component."""

    def __init__(self, root: Path, environment: str, component: str) -> None:
        for kind, name in (("environment", environment), ("component", component)):
            if not _NAME_RE.match(name):
                raise DeployError(f"{kind} {name!r} must be letters, digits, '_', '-' or '.'")
        self.root = root
        self.environment = environment
        self.component = component
        self.dir = root / environment / component
        self.releases_dir = self.dir / "releases"
        self.current_link = self.dir / "current"
        self.history_file = self.dir / "history.jsonl"
        self._lock_file = self.dir / "deploy.lock"
        self._holder_file = self.dir / "deploy.lock.json"

    @property
    def label(self) -> str:
        return f"{self.environment}/{self.component}"

    def exists(self) -> bool:
        return self.dir.is_dir()

    def require_existing(self) -> ReleaseStore:
        """This store, or a `DeployError` when nothing was ever deployed to it (a mistyped name, usually)."""
        if not self.exists():
            raise DeployError(f"nothing is deployed to {self.label} under {self.root}")
        return self

    @contextlib.contextmanager
    def locked(self, release: str, action: str) -> Iterator[None]:
        """Hold the environment or fail at once naming the holder; the kernel drops the lock with the
        process, so a killed deploy never blocks the next one."""
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(
            self._lock_file, timeout=0, fallback_to_soft=False, preserve_lock_file=True, thread_local=False
        )
        try:
            lock.acquire()
        except filelock.Timeout:
            raise DeployLockedError(
                f"{self.label} is locked by another deploy: {self._describe_holder()} "
                f"(lock file {self._lock_file})"
            ) from None
        try:
            holder = LockHolder(
                pid=os.getpid(), host=socket.gethostname(), since=utc_now(), release=release, action=action
            )
            write_text_atomically(self._holder_file, holder.model_dump_json())
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                self._holder_file.unlink()
            lock.release()

    def _describe_holder(self) -> str:
        try:
            return LockHolder.model_validate_json(self._holder_file.read_text()).describe()
        except (OSError, ValidationError):
            return "holder unknown (it has not written its name yet)"

    def release_dir(self, release_id: str) -> Path:
        return self.releases_dir / check_release_id(release_id)

    def record(self, release_id: str) -> ReleaseRecord | None:
        marker = self.release_dir(release_id) / RELEASE_MARKER
        try:
            return ReleaseRecord.model_validate_json(marker.read_text())
        except FileNotFoundError:
            return None

    def records(self) -> list[ReleaseRecord]:
        """Complete releases, oldest first; half-written ones are not releases."""
        if not self.releases_dir.is_dir():
            return []
        found = []
        for entry in sorted(self.releases_dir.iterdir()):
            if _RELEASE_ID_RE.match(entry.name) and (record := self.record(entry.name)) is not None:
                found.append(record)
        return found

    def mark_complete(self, release_id: str, bundle_sha256: str, bundle_path: Path) -> ReleaseRecord:
        """Write the release's completion marker: from now on the release exists for everyone."""
        record = ReleaseRecord(
            release_id=release_id,
            bundle_sha256=bundle_sha256,
            bundle_path=str(bundle_path.resolve()),
            created=utc_now(),
            environment=self.environment,
            component=self.component,
        )
        folder = self.release_dir(release_id)
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomically(folder / RELEASE_MARKER, record.model_dump_json(indent=2) + "\n")
        return record

    def mark_bad(self, release_id: str, reason: str) -> None:
        write_text_atomically(self.release_dir(release_id) / BAD_MARKER, f"{utc_now()} {reason}\n")

    def is_bad(self, release_id: str) -> bool:
        return (self.release_dir(release_id) / BAD_MARKER).exists()

    def current_id(self) -> str | None:
        try:
            target = os.readlink(self.current_link)
        except FileNotFoundError:
            return None
        return Path(target).name

    def switch_current(self, release_id: str | None) -> None:
        """Point `current` at a release by renaming a fresh link over it: there is always a `current`
        (once there was one), and a crash before the rename leaves the old one. None removes it."""
        if release_id is None:
            with contextlib.suppress(FileNotFoundError):
                self.current_link.unlink()
        else:
            temp = self.dir / f".current-{uuid.uuid4().hex}"
            os.symlink(Path("releases") / check_release_id(release_id), temp)
            try:
                os.replace(temp, self.current_link)
            except BaseException:
                temp.unlink()
                raise
        _fsync_dir(self.dir)

    def append_history(self, entry: HistoryEntry) -> None:
        with self.history_file.open("a") as handle:
            handle.write(entry.model_dump_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def history(self) -> list[HistoryEntry]:
        """All entries, oldest first. A line that does not parse was torn by a crash mid-append (its
        deploy never finished), so it is skipped rather than failing every later read."""
        try:
            lines = self.history_file.read_text().splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in lines:
            with contextlib.suppress(ValidationError, json.JSONDecodeError):
                entries.append(HistoryEntry.model_validate_json(line))
        return entries

    def _healthy_ids(self) -> set[str]:
        last: dict[str, HistoryEntry] = {}
        for entry in self.history():
            last[entry.release_id] = entry
        return {release_id for release_id, entry in last.items() if entry.outcome == "healthy"}

    def rollback_target(self) -> ReleaseRecord | None:
        """The newest release older than `current` whose last check was healthy and that is not bad."""
        current = self.current_id()
        healthy = self._healthy_ids()
        for record in reversed(self.records()):
            release_id = record.release_id
            if current is not None and release_id >= current:
                continue
            if release_id in healthy and not self.is_bad(release_id):
                return record
        return None

    def choose_rollback(self, current: str | None, to_release: str | None) -> ReleaseRecord:
        """Where a rollback goes: `to_release`, else the rollback target; a `DeployError` says why not."""
        if to_release is None:
            target = self.rollback_target()
            if target is None:
                raise DeployError(f"{self.label} has no earlier healthy release to roll back to")
            return target
        record = self.record(to_release)
        if record is None:
            known = ", ".join(info.release_id for info in self.infos()) or "none"
            raise DeployError(f"{self.label} has no release {to_release} (releases: {known})")
        if self.is_bad(to_release):
            raise DeployError(f"{self.label} release {to_release} is marked bad; pick another")
        if to_release == current:
            raise DeployError(f"{self.label} release {to_release} is already live")
        return record

    def healthy_release(self) -> ReleaseInfo | None:
        current = self.current_id()
        if current is None or current not in self._healthy_ids() or self.is_bad(current):
            return None
        record = self.record(current)
        return None if record is None else self._info(record, current)

    def infos(self) -> list[ReleaseInfo]:
        """Complete releases, newest first."""
        current = self.current_id()
        return [self._info(record, current) for record in reversed(self.records())]

    def _info(self, record: ReleaseRecord, current: str | None) -> ReleaseInfo:
        return ReleaseInfo(
            release_id=record.release_id,
            bundle_sha256=record.bundle_sha256,
            created=record.created,
            is_current=record.release_id == current,
            is_bad=self.is_bad(record.release_id),
        )

    def remove_incomplete(self) -> None:
        """Clear what dead deploys left: unmarked releases, unpack folders, temporary links and files.
        Call only under `locked()`: then no live deploy of this environment is writing any of them."""
        if self.releases_dir.is_dir():
            for entry in self.releases_dir.iterdir():
                if not (entry / RELEASE_MARKER).is_file():
                    shutil.rmtree(entry, ignore_errors=True)
        for entry in [*self.dir.glob(".current-*"), *self.dir.glob(".*.tmp")]:
            entry.unlink()

    def prune(self, keep: int) -> None:
        """Keep the newest `keep` releases, plus `current` and the rollback target; under `locked()`.
        The marker goes first, so a prune killed halfway leaves an incomplete release, not a broken one."""
        protected = {self.current_id()}
        target = self.rollback_target()
        if target is not None:
            protected.add(target.release_id)
        for record in self.records()[:-keep]:
            if record.release_id not in protected:
                folder = self.release_dir(record.release_id)
                (folder / RELEASE_MARKER).unlink()
                shutil.rmtree(folder)

    def conclude(
        self,
        record: ReleaseRecord,
        action: DeployAction,
        health: HealthResult,
        *,
        started: float,
        rolled_back: bool = False,
        message: str = "",
        command_output: str = "",
    ) -> DeploymentOutcome:
        """Append the history entry for a finished deploy, promotion or rollback and describe it."""
        outcome: Outcome = "healthy" if health.ok else "rolled_back" if rolled_back else "failed"
        duration_s = time.perf_counter() - started
        self.append_history(
            HistoryEntry(
                time=utc_now(),
                environment=self.environment,
                component=self.component,
                release_id=record.release_id,
                bundle_sha256=record.bundle_sha256,
                action=action,
                outcome=outcome,
                health=health.summary,
                duration_s=duration_s,
                message=message,
            )
        )
        return DeploymentOutcome(
            environment=self.environment,
            component=self.component,
            release_id=record.release_id,
            bundle_sha256=record.bundle_sha256,
            action=action,
            healthy=health.ok,
            rolled_back=rolled_back,
            live_release_id=self.current_id(),
            health_summary=health.summary,
            health_output=health.output,
            command_output=command_output,
            message=message,
            duration_s=duration_s,
            history_tail=tuple(self.history()[-10:]),
        )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
