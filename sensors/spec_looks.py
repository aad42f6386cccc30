"""One look at a spec file for the sensor: its content hash, and whether it has stopped changing.

A spec is written by an editor, `cp` or `git checkout`, and a tick can land in the middle: the prefix
of a spec may well parse and start a run on half the content. So a look reads the file between two
`stat`s (inode, size and mtime must agree) and says it is stable only if its last change is at least
the quiet period old; the sensor looks again next tick otherwise.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from spec2prod_assets.spec.model import SpecError
from spec2prod_assets.spec.parser import read_spec_bytes


def look(path: Path, project_root: Path, at: float, quiet_s: float) -> tuple[str, bool]:
    """The file's sha256 and whether it is stable at time `at` (seconds since the epoch).

    The bytes come from the parser's own `read_spec_bytes`, so the sensor hashes exactly what a parse
    would read and opens only what a parse would open: a regular file inside the project, non-blocking
    (a FIFO swapped in cannot block the tick), at most 1 MiB + 1 bytes. The sha is "" when the parser
    would refuse the file before parsing (unreadable, not a regular file, outside the project, too
    large), so that is reported only once, by the parse that says why.
    """
    try:
        before = path.stat()
        data = read_spec_bytes(path, project_root, path.as_posix())
        after = path.stat()
    except (OSError, SpecError):
        return "", True
    unchanged = _identity(before) == _identity(after)
    return hashlib.sha256(data).hexdigest(), unchanged and at - after.st_mtime >= quiet_s


def name_problem(key: str) -> str | None:
    """Why a spec's file name cannot be used (Dagster tags and logs need UTF-8), or None."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        shown = key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return f"{shown}: the file name is not valid UTF-8; rename it"
    return None


def _identity(status: os.stat_result) -> tuple[int, int, int]:
    return (status.st_ino, status.st_size, status.st_mtime_ns)
