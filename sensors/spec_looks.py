"""One look at a spec file for the sensor: its content hash, and whether it has stopped changing.

A spec is written by an editor, `cp` or `git checkout`, and a tick can land in the middle: the prefix
of a spec may well parse and start a run on half the content. So a look reads the file between two
`fstat`s (size and mtime must agree) and says it is stable only if its last change is at least the
quiet period old; the sensor looks again next tick otherwise.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from spec2prod_assets.spec.parser import MAX_SPEC_BYTES


def look(path: Path, at: float, quiet_s: float) -> tuple[str, bool]:
    """The file's sha256 and whether it is stable at time `at` (seconds since the epoch).

    The sha is "" when the file is unreadable or not a regular file, so that is reported only once.
    Only a regular file is read (opened non-blocking, so a FIFO swapped in cannot block the tick), and
    at most 1 MiB + 1 bytes of it: the parser refuses anything larger, so hashing more costs for nothing.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return "", True
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            return "", True
        data = _read_at_most(fd, MAX_SPEC_BYTES + 1)
        after = os.fstat(fd)
    except OSError:
        return "", True
    finally:
        os.close(fd)
    unchanged = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
    return hashlib.sha256(data).hexdigest(), unchanged and at - after.st_mtime >= quiet_s


def name_problem(key: str) -> str | None:
    """Why a spec's file name cannot be used (Dagster tags and logs need UTF-8), or None."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        shown = key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return f"{shown}: the file name is not valid UTF-8; rename it"
    return None


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
