"""One deploy or rollback per environment at a time, and a refusal that names who holds it.

The lock is a kernel `flock` (via filelock), so a deploy that is killed never blocks the next one; the
holder writes its pid, host, start time and what it is doing next to the lock, so the one refused can
say who to wait for instead of "locked".
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import filelock
from pydantic import BaseModel, ConfigDict, ValidationError

from spec2prod_assets.deploy.model import DeployLockedError
from spec2prod_assets.storage.atomic_files import write_text_atomically


class LockHolder(BaseModel):
    model_config = ConfigDict(frozen=True)

    pid: int
    host: str
    since: str
    release: str
    action: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since} ({self.action} of {self.release})"


@contextlib.contextmanager
def hold_environment(folder: Path, label: str, release: str, action: str) -> Iterator[None]:
    """Hold `folder`'s lock for `action` of `release`, or raise `DeployLockedError` at once."""
    folder.mkdir(parents=True, exist_ok=True)
    lock_file, holder_file = folder / "deploy.lock", folder / "deploy.lock.json"
    lock = filelock.FileLock(
        lock_file, timeout=0, fallback_to_soft=False, preserve_lock_file=True, thread_local=False
    )
    try:
        lock.acquire()
    except filelock.Timeout:
        raise DeployLockedError(
            f"{label} is locked by another deploy: {_describe_holder(holder_file)} (lock file {lock_file})"
        ) from None
    try:
        since = datetime.now(UTC).isoformat(timespec="microseconds")
        holder = LockHolder(
            pid=os.getpid(), host=socket.gethostname(), since=since, release=release, action=action
        )
        write_text_atomically(holder_file, holder.model_dump_json())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            holder_file.unlink()
        lock.release()


def _describe_holder(holder_file: Path) -> str:
    try:
        return LockHolder.model_validate_json(holder_file.read_bytes()).describe()
    except (OSError, ValidationError):
        return "holder unknown (it has not written its name yet)"
