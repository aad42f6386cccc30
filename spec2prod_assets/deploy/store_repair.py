"""Put an environment's state back in order before a deploy or rollback changes it.

A deploy killed at any point, a full disk or a hand edit can leave: half-unpacked or unmarked releases,
temporary links and files (even folders named like them), a `current` that is a folder or file instead of
a link, a `release.json` that no longer parses, and a release made live whose outcome was never written.
None of that may block the environment: what can be removed is removed, what may hold someone's files is
moved aside, and every repair is said in one line (in the outcome's message and the history entry).
Runs only under `ReleaseStore.locked()`, so no live deploy of the environment is writing any of it.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from spec2prod_assets.deploy.state_store import ReleaseStore


def repair(store: ReleaseStore) -> list[str]:
    """Repair `store` (held under its lock) and return the notes, also kept in `store.notes`."""
    notes = [*_move_aside_current(store), *_remove_dead_releases(store)]
    for entry in [*store.dir.glob(".current-*"), *store.dir.glob(".*.tmp")]:
        _remove(entry)
    notes += _record_interrupted(store)
    store.notes.extend(notes)
    return notes


def _move_aside_current(store: ReleaseStore) -> list[str]:
    """A `current` that is a real folder or file may be someone's work: keep it, under another name."""
    link = store.current_link
    if link.is_symlink() or not link.exists():
        return []
    kind = "a folder" if link.is_dir() else "a file"
    aside = store.dir / f"current.not-a-link-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    os.rename(link, aside)
    return [f"current was {kind}, not a symlink to a release; moved it to {aside.name}"]


def _remove_dead_releases(store: ReleaseStore) -> list[str]:
    """Remove unmarked and corrupt releases and unpack leftovers; never the folder `current` points at."""
    if not store.releases_dir.is_dir():
        return []
    live = store.current_id()
    release_ids = set(store.release_ids())
    notes = []
    for entry in sorted(store.releases_dir.iterdir()):
        if entry.name == live:
            continue
        if entry.name in release_ids:
            record, fault = store.read_record(entry.name)
            if record is not None:
                continue
            if fault is not None:
                notes.append(f"{fault}: removed it")
        _remove(entry)
    return notes


def _record_interrupted(store: ReleaseStore) -> list[str]:
    """A live release with no history entry was switched to by a deploy that died before writing its
    outcome: record it as failed, so the history says what is live and nothing treats it as healthy."""
    current = store.current_id()
    record = store.record(current) if current is not None else None
    if record is None or any(entry.release_id == record.release_id for entry in store.history()):
        return []
    note = f"release {record.release_id} was live with no recorded outcome (its deploy was interrupted)"
    store.record_outcome(
        record,
        "deploy",
        "failed",
        "no verdict: the deploy was interrupted",
        0.0,
        f"{note}; recorded as failed by the next deploy",
    )
    return [note + "; recorded it as failed"]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
