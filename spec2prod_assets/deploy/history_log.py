"""An environment's append-only history file, where every line stands on its own.

A deploy killed mid-append leaves a torn last line, and a disk or a hand edit can leave a line that is not
UTF-8 or not an entry. Such a line must cost only itself: the next append starts on a fresh line (so the
torn one never swallows it), and a read skips and reports each bad line instead of failing or hiding the
entries around it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from spec2prod_assets.deploy.model import HistoryEntry


@dataclass(frozen=True)
class HistoryRead:
    """The entries that parsed, oldest first, and one line per skipped line saying where and why."""

    entries: tuple[HistoryEntry, ...]
    skipped: tuple[str, ...]


def append_entry(path: Path, entry: HistoryEntry) -> None:
    """Append one line with a single write, first ending a torn last line so the new entry stays whole."""
    data = (entry.model_dump_json() + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and _last_byte(path, size) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_byte(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1)


def read_entries(path: Path) -> HistoryRead:
    """Every line that is a `HistoryEntry`; the others are skipped, each reported with its line number."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return HistoryRead((), ())
    entries: list[HistoryEntry] = []
    skipped: list[str] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            skipped.append(f"{path} line {number}: not UTF-8 text; skipped")
            continue
        try:
            entries.append(HistoryEntry.model_validate_json(text))
        except ValidationError:
            skipped.append(f"{path} line {number}: not a history entry (torn by a crash?); skipped")
    return HistoryRead(tuple(entries), tuple(skipped))
