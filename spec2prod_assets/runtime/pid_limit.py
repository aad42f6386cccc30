"""A cap on how many processes a sandboxed run may have at once, through a pids cgroup.

RLIMIT_NPROC counts every process of a user and is not enforced for root at all (even inside bubblewrap's
user namespace, whose uid maps back to root), so a fork bomb run as root would not be stopped by it. A
pids cgroup is: the command joins a fresh cgroup with `pids.max` set before it execs anything, so all of
its descendants count. Where no pids cgroup can be created (cgroup v2 without delegation, no rights), the
cap is not enforced and a warning says so once.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import uuid
from pathlib import Path

logger = logging.getLogger(__name__)

_CGROUP_ROOT = Path("/sys/fs/cgroup")


class PidGroup:
    """One run's pids cgroup; `wrap` makes the command join it, `close` removes it once the run ended."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def wrap(self, command: list[str]) -> list[str]:
        """`sh` moves itself into the group, then execs the command: nothing runs outside the cap."""
        procs = str(self.folder / "cgroup.procs")
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs, *command]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.folder.rmdir()


def pid_group(processes: int) -> PidGroup | None:
    """A fresh pids cgroup capped at `processes`, or None (with a one-time warning) where there is none."""
    base = _pids_base()
    if base is None:
        return None
    folder = base / f"spec2prod-{uuid.uuid4().hex}"
    try:
        folder.mkdir()
        (folder / "pids.max").write_text(f"{processes}\n", encoding="ascii")
    except OSError as exc:
        with contextlib.suppress(OSError):
            folder.rmdir()
        _warn_once(f"could not set up a pids cgroup under {base}: {exc}")
        return None
    return PidGroup(folder)


@functools.cache
def _pids_base() -> Path | None:
    """Our own cgroup in the v1 pids hierarchy when we may create groups in it."""
    try:
        lines = Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            base = _CGROUP_ROOT / "pids" / path.lstrip("/")
            if (base / "cgroup.procs").exists() and os.access(base, os.W_OK):
                return base
    _warn_once("no writable pids cgroup: the sandbox's process-count limit is not enforced here")
    return None


@functools.cache
def _warn_once(message: str) -> None:
    logger.warning(message)
