"""The on-disk state of one environment of one component, shared by every deployer.

Layout under `<root>/<environment>/<component>/`:

    releases/<release_id>/release.json   completion marker (written last, atomically): id, full sha256
    releases/<release_id>/BAD            the release failed its health check; rollbacks skip it
    current -> releases/<release_id>     the live release, switched by one atomic rename
    history.jsonl                        append-only, one `HistoryEntry` per line (see `history_log`)
    deploy.lock, deploy.lock.json        the kernel lock and the holder it names

Everything that changes this state runs under `locked()`: one deploy or rollback at a time, so an
incomplete release found while holding the lock belongs to a deploy that died and can be removed
(`store_repair`). Reads never fail on damaged state: what is wrong is listed by `problems()`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from spec2prod_assets.deploy.environment_lock import hold_environment
from spec2prod_assets.deploy.history_log import HistoryRead, append_entry, read_entries
from spec2prod_assets.deploy.model import (
    DeployAction,
    DeployError,
    DeploymentOutcome,
    HealthResult,
    HistoryEntry,
    Outcome,
    ReleaseInfo,
)
from spec2prod_assets.storage.atomic_files import write_text_atomically

RELEASE_MARKER = "release.json"
BAD_MARKER = "BAD"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_RELEASE_ID_RE = re.compile(r"\d{8}T\d{12}-[0-9a-f]{12}")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def new_release_id(bundle_sha256: str) -> str:
    """Sortable by time, and carrying the bundle's hash so a listing shows what each release is."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{bundle_sha256[:12]}"


def check_release_id(release_id: str) -> str:
    if not _RELEASE_ID_RE.fullmatch(release_id):
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


class ReleaseStore:
    """Releases, `current`, history and lock of one environment of one component."""

    def __init__(self, root: Path, environment: str, component: str) -> None:
        for kind, name in (("environment", environment), ("component", component)):
            if not _NAME_RE.fullmatch(name):
                raise DeployError(f"{kind} {name!r} must be letters, digits, '_', '-' or '.'")
        self.root = root
        self.environment = environment
        self.component = component
        self.dir = root / environment / component
        self.releases_dir = self.dir / "releases"
        self.current_link = self.dir / "current"
        self.history_file = self.dir / "history.jsonl"
        self.notes: list[str] = []
        """What this store repaired while it held the lock; `conclude` adds them to the outcome's message."""

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

    def locked(self, release: str, action: str) -> contextlib.AbstractContextManager[None]:
        """Hold the environment or fail at once naming the holder (see `environment_lock`)."""
        return hold_environment(self.dir, self.label, release, action)

    def release_dir(self, release_id: str) -> Path:
        return self.releases_dir / check_release_id(release_id)

    def record(self, release_id: str) -> ReleaseRecord | None:
        """The release's completion record; None when it is missing or corrupt (not a release, then)."""
        return self.read_record(release_id)[0]

    def read_record(self, release_id: str) -> tuple[ReleaseRecord | None, str | None]:
        """The record, or None and why it is unusable (None too when the release is simply incomplete)."""
        marker = self.release_dir(release_id) / RELEASE_MARKER
        try:
            record = ReleaseRecord.model_validate_json(marker.read_bytes())
        except FileNotFoundError:
            return None, None
        except (OSError, ValidationError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None, f"release {release_id} has a corrupt {RELEASE_MARKER} ({reason})"
        if record.release_id != release_id:
            return None, f"release {release_id} has a corrupt {RELEASE_MARKER} (it names {record.release_id})"
        return record, None

    def release_ids(self) -> list[str]:
        """Names under `releases/` that are release ids, oldest first, complete or not."""
        if not self.releases_dir.is_dir():
            return []
        return sorted(
            entry.name for entry in self.releases_dir.iterdir() if _RELEASE_ID_RE.fullmatch(entry.name)
        )

    def records(self) -> list[ReleaseRecord]:
        """Complete releases, oldest first; half-written and corrupt ones are not releases."""
        return [record for release_id in self.release_ids() if (record := self.record(release_id))]

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
        """The release `current` names; None when there is no `current` or it is not a link to a release
        (`current_fault` says what it is instead). The release may be gone: see `record`."""
        try:
            target = Path(os.readlink(self.current_link))
        except OSError:  # missing, or not a symlink
            return None
        if target.parent != Path("releases") or not _RELEASE_ID_RE.fullmatch(target.name):
            return None
        return target.name

    def current_fault(self) -> str | None:
        """What is wrong with `current`, in one line; None when it is absent or names a complete release."""
        link = self.current_link
        if not link.is_symlink():
            if not link.exists():
                return None
            kind = "a folder" if link.is_dir() else "a file"
            return f"{link} is {kind}, not a symlink to a release; the next deploy moves it aside"
        current = self.current_id()
        if current is None:
            return f"{link} points at {os.readlink(link)}, not at releases/<release id>"
        if self.record(current) is None:
            return f"{link} points at release {current}, which is missing or incomplete"
        return None

    def switch_back_target(self, exclude: str) -> ReleaseRecord | None:
        """Where `current` goes when `exclude` fails: the live release if it is a valid target, else the
        newest valid one; never a missing, incomplete, bad or unchecked release."""
        return self._switch_back_target(exclude, self.records(), self._healthy_ids())

    def _switch_back_target(
        self, exclude: str, records: list[ReleaseRecord], healthy: set[str]
    ) -> ReleaseRecord | None:
        current = self.current_id()
        # The live release first, then the others newest first.
        candidates = sorted(
            (record for record in records if record.release_id != exclude),
            key=lambda record: (record.release_id == current, record.release_id),
            reverse=True,
        )
        return next((record for record in candidates if self._good(record.release_id, healthy)), None)

    def _good(self, release_id: str, healthy: set[str]) -> bool:
        """Safe to make live without checking it again (for a complete release): not bad, and healthy
        the last time it was checked."""
        return release_id in healthy and not self.is_bad(release_id)

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
        self.dir.mkdir(parents=True, exist_ok=True)
        append_entry(self.history_file, entry)

    def record_outcome(
        self,
        record: ReleaseRecord,
        action: DeployAction,
        outcome: Outcome,
        health: str,
        duration_s: float,
        message: str,
    ) -> None:
        """Append one history entry about `record`."""
        self.append_history(
            HistoryEntry(
                time=utc_now(),
                environment=self.environment,
                component=self.component,
                release_id=record.release_id,
                bundle_sha256=record.bundle_sha256,
                action=action,
                outcome=outcome,
                health=health,
                duration_s=duration_s,
                message=message,
            )
        )

    def read_history(self) -> HistoryRead:
        """All entries, oldest first, and the lines skipped (torn by a crash, not UTF-8, not an entry)."""
        return read_entries(self.history_file)

    def history(self) -> list[HistoryEntry]:
        """All entries that parse, oldest first; `read_history` also says which lines were skipped."""
        return list(self.read_history().entries)

    def release_problems(self) -> list[str]:
        """What is wrong with `current` and the release records, one line each, for listings to show."""
        found = [fault] if (fault := self.current_fault()) else []
        return found + [fault for name in self.release_ids() if (fault := self.read_record(name)[1])]

    def problems(self) -> list[str]:
        """Everything wrong with this environment's state: releases, then skipped history lines."""
        return [*self.release_problems(), *self.read_history().skipped]

    def _healthy_ids(self) -> set[str]:
        last: dict[str, HistoryEntry] = {}
        for entry in self.history():
            last[entry.release_id] = entry
        return {release_id for release_id, entry in last.items() if entry.outcome == "healthy"}

    def rollback_target(self) -> ReleaseRecord | None:
        """The newest release older than `current` whose last check was healthy and that is not bad."""
        return self._rollback_target(self.records(), self._healthy_ids())

    def _rollback_target(self, records: list[ReleaseRecord], healthy: set[str]) -> ReleaseRecord | None:
        current = self.current_id()
        older = [record for record in records if current is None or record.release_id < current]
        return next((record for record in reversed(older) if self._good(record.release_id, healthy)), None)

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
        if current is None or not self._good(current, self._healthy_ids()):
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

    def prune(self, keep: int) -> None:
        """Keep the newest `keep` releases, plus `current` and the rollback target; under `locked()`.
        The marker goes first, so a prune killed halfway leaves an incomplete release, not a broken one."""
        records, healthy = self.records(), self._healthy_ids()
        protected = {self.current_id()}
        for target in (
            self._rollback_target(records, healthy),
            self._switch_back_target("", records, healthy),
        ):
            if target is not None:
                protected.add(target.release_id)
        for record in records[:-keep]:
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
        message = "; ".join(part for part in (*self.notes, message) if part)
        duration_s = time.perf_counter() - started
        self.record_outcome(record, action, outcome, health.summary, duration_s, message)
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


def mark_bad_or_say_why(store: ReleaseStore, release_id: str, reason: str) -> str:
    """Mark a failed release bad, after `current` has left it. A marker that cannot be written (a full
    disk) must not undo that switch: the release has no healthy entry, so nothing picks it anyway; the
    returned text (for the outcome's message) says so."""
    try:
        store.mark_bad(release_id, reason)
    except OSError as exc:
        return f"; could not mark it bad ({exc}), but it was never healthy, so no rollback picks it"
    return ""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
