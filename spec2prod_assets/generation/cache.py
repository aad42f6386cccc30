"""Content-addressed cache entries on disk: what an earlier run computed from exactly the same inputs.

The generation task cache and the funnel-verdict cache both store here. An entry is a folder named by
the sha256 of its inputs, holding `entry.json` (the inputs' digests, so a person can see why two runs
did or did not share an entry, the payload, and each file's sha256) and `files/` (the files, as
written). Entries are never changed once written:
- a writer builds the entry in a temporary folder and renames it into place, so a reader sees a whole
  entry or none, and two writers of the same key simply race to the same content (the loser's rename
  fails and its copy is dropped);
- a reader that finds an entry it cannot read (torn by a crash of the disk, edited by hand, a file
  whose hash no longer matches) logs it, removes it and reports a miss: the cache can only save work,
  never fail a run or hand back something other than what was stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from spec2prod_assets.storage.safe_paths import check_relative_path
from spec2prod_assets.storage.work_folder import WorkFolder
from spec2prod_assets.storage.working_copies import not_copied

Log = logging.Logger | logging.LoggerAdapter[logging.Logger]

ENTRY_FILE = "entry.json"
FILES_DIR = "files"
_FORMAT = 1
_TEMPORARY_PREFIX = ".tmp-"
_DISCARDED_PREFIX = ".discarded-"
# A temporary folder this old belongs to a writer that died; writing an entry takes milliseconds.
_ABANDONED_AFTER_S = 3600.0


class CacheEntryError(ValueError):
    """An entry on disk that does not read back as what a writer stored."""


@dataclass(frozen=True)
class CacheEntry:
    """What a writer stored under a key: a JSON payload and text files by relative path."""

    key: str
    payload: Mapping[str, Any]
    files: Mapping[str, str]


class EntryStore:
    """One kind of entry (`WorkFolder.cache(kind)`); creates its folder on the first write only."""

    def __init__(self, folder: Path, *, log: Log) -> None:
        self.folder = folder
        self.log = log

    def get(self, key: str) -> CacheEntry | None:
        """The entry stored under `key`, or None: absent, or unreadable (then it is removed)."""
        entry_dir = self.folder / key
        if not entry_dir.is_dir():
            return None
        try:
            return _read_entry(entry_dir, key)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.log.warning(
                "Cache entry %s is unreadable (%s); removing it and running afresh", entry_dir, exc
            )
            self._discard(entry_dir)
            return None

    def put(
        self, key: str, *, inputs: Mapping[str, Any], payload: Mapping[str, Any], files: Mapping[str, str]
    ) -> bool:
        """Store an entry unless one exists; True if this call wrote it. A failed write is logged, not raised:
        the run that computed the value already has it."""
        entry_dir = self.folder / key
        if entry_dir.is_dir():
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._remove_abandoned()
            temporary = self.folder / f"{_TEMPORARY_PREFIX}{key[:16]}-{uuid.uuid4().hex}"
            temporary.mkdir()
            try:
                _write_entry(temporary, key, inputs, payload, files)
                os.rename(temporary, entry_dir)  # fails if another writer got there first
                return True
            except OSError:
                if entry_dir.is_dir():
                    return False
                raise
            finally:
                shutil.rmtree(temporary, ignore_errors=True)
        except (OSError, ValueError, TypeError) as exc:
            self.log.warning("Could not store cache entry %s: %s", entry_dir, exc)
            return False

    def discard(self, key: str) -> None:
        """Remove the entry under `key` (one that does not read back); nothing if there is none."""
        self._discard(self.folder / key)

    def _discard(self, entry_dir: Path) -> None:
        """Rename first, so no reader ever sees a half-removed entry, then delete."""
        discarded = self.folder / f"{_DISCARDED_PREFIX}{uuid.uuid4().hex}"
        try:
            os.rename(entry_dir, discarded)
        except OSError:
            return  # gone already: another reader removed it
        shutil.rmtree(discarded, ignore_errors=True)

    def _remove_abandoned(self) -> None:
        """Folders a writer or a remover that died left behind; a live one is minutes younger."""
        cutoff = time.time() - _ABANDONED_AFTER_S
        leftovers = [*self.folder.glob(f"{_TEMPORARY_PREFIX}*"), *self.folder.glob(f"{_DISCARDED_PREFIX}*")]
        for path in leftovers:
            try:
                if path.stat().st_mtime < cutoff:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                continue


class KindCache:
    """One kind of cache in a project's work folder (`<work>/cache/<kind>/`); subclasses name the kind."""

    kind: ClassVar[str]

    def __init__(self, folder: Path, *, log: Log | None = None) -> None:
        self.store = EntryStore(folder, log=log or logging.getLogger(type(self).__module__))

    @classmethod
    def in_work_folder(cls, work: WorkFolder, *, log: Log | None = None) -> Self:
        """The project's cache of this kind, shared by every run and every spec of the project."""
        return cls(work.cache(cls.kind), log=log)


def cache_key(inputs: Mapping[str, Any]) -> str:
    """The sha256 of the inputs as canonical JSON: equal inputs, equal key; any other byte, another key."""
    return hashlib.sha256(_canonical(inputs).encode("utf-8")).hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def files_sha256(files: Iterable[tuple[str, str]]) -> str:
    """A digest of (path, text) pairs in the order given: the order is part of what they mean."""
    digest = hashlib.sha256()
    for path, text in files:
        _update(digest, path.encode("utf-8", "surrogatepass"))
        _update(digest, text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def tree_sha256(root: Path, relative: str = ".") -> str:
    """A digest of every file under `root/relative`: each one's path (relative to `root`) and bytes, in
    sorted order; a link counts by its target's text, never followed. A missing folder has a digest too.

    Caches, bytecode and coverage data are left out, as copies leave them out: they say nothing about
    the code, and a tool that ran in the tree may have left them behind.
    """
    digest = hashlib.sha256()
    base = root / relative
    if base.is_file() or base.is_symlink():
        paths = [base]
    elif base.is_dir():
        paths = [
            Path(folder) / name
            for folder, dirs, names in os.walk(base)
            if not _is_noise(Path(folder).relative_to(base))
            for name in (*names, *(d for d in dirs if (Path(folder) / d).is_symlink()))
            if not not_copied(name)
        ]
    else:
        return hashlib.sha256(b"missing:" + relative.encode("utf-8", "surrogatepass")).hexdigest()
    for path in sorted(paths, key=lambda p: p.relative_to(root).as_posix()):
        _update(digest, path.relative_to(root).as_posix().encode("utf-8", "surrogatepass"))
        _update(digest, os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
    return digest.hexdigest()


def _is_noise(folder: Path) -> bool:
    """A folder copies leave out, or one inside it: what `working_copies` never copies is no content."""
    return any(not_copied(part) for part in folder.parts)


def _update(digest: Any, data: bytes) -> None:
    """Length-prefixed, so ("ab", "c") and ("a", "bc") never hash alike."""
    digest.update(len(data).to_bytes(8, "big"))
    digest.update(data)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def _write_entry(
    folder: Path, key: str, inputs: Mapping[str, Any], payload: Mapping[str, Any], files: Mapping[str, str]
) -> None:
    hashes = {}
    for path, text in files.items():
        relative = check_relative_path(path)
        target = folder / FILES_DIR / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8", "surrogatepass"))
        hashes[relative] = text_sha256(text)
    entry = {
        "format": _FORMAT,
        "key": key,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "inputs": inputs,
        "files": hashes,
        "payload": payload,
    }
    (folder / ENTRY_FILE).write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _read_entry(folder: Path, key: str) -> CacheEntry:
    entry = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
    if entry.get("format") != _FORMAT or entry.get("key") != key:
        raise CacheEntryError(f"format {entry.get('format')!r} / key {entry.get('key')!r} do not match")
    payload, hashes = entry["payload"], entry["files"]
    if not isinstance(payload, dict) or not isinstance(hashes, dict):
        raise CacheEntryError("payload and files must be objects")
    files = {}
    for path, expected in hashes.items():
        text = (folder / FILES_DIR / check_relative_path(path)).read_bytes().decode("utf-8", "surrogatepass")
        if text_sha256(text) != expected:
            raise CacheEntryError(f"{path} does not match its recorded sha256")
        files[path] = text
    return CacheEntry(key=key, payload=payload, files=files)
