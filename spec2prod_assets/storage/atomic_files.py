"""Files that readers never see half-written: write a temporary sibling, flush it to disk, rename over.

Deploy markers, history and asset values all go through here; after a crash a reader finds the old
content or the new, never a torn file. What a crash does leave is the temporary itself, so every
temporary is locked (`flock`) by its writer until it is renamed or removed: the kernel drops the lock
with the process, and the next writer in the folder removes temporaries nobody holds, while one that a
live writer (another step of the same run, in another process) is still writing is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temporaries(path.parent, f".{glob.escape(path.name)}.*.tmp")
    with locked_temporary(path.parent, prefix=f".{path.name}.", suffix=".tmp") as (fd, temporary):
        with os.fdopen(os.dup(fd), "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    return path


@contextlib.contextmanager
def locked_temporary(folder: Path, *, prefix: str, suffix: str) -> Iterator[tuple[int, Path]]:
    """A new empty file in `folder`, locked by this process until the block ends; rename it inside the
    block to keep it, otherwise it is removed. Write through `os.dup(fd)` if you close your handle."""
    while True:
        fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
        with contextlib.suppress(OSError):  # no flock on this file system: nothing is ever cleaned
            fcntl.flock(fd, fcntl.LOCK_EX)
        if _same_file(fd, Path(name)):
            break
        os.close(fd)  # a cleaner removed it between its creation and our lock: take another
    temporary = Path(name)
    try:
        yield fd, temporary
    finally:
        try:
            if _same_file(fd, temporary):
                temporary.unlink()
        finally:
            os.close(fd)


def remove_abandoned_temporaries(folder: Path, pattern: str) -> list[Path]:
    """Remove the regular files in `folder` matching `pattern` that no live writer holds locked."""
    removed = []
    for path in folder.glob(pattern):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held by a live writer (or no flock here): not ours to remove
                continue
            if _same_file(fd, path):
                path.unlink()
                removed.append(path)
        finally:
            os.close(fd)
    return removed


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False
