"""Cache entries on disk: written whole or not at all, read back exactly, and a damaged one is a miss."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from spec2prod_assets.generation.cache import ENTRY_FILE, FILES_DIR, EntryStore, cache_key, tree_sha256
from spec2prod_assets.storage.working_copies import not_copied

KEY = cache_key({"module_sha256": "ab" * 32})
LOG = logging.getLogger("tests.generation_cache")


def _store(tmp_path: Path) -> EntryStore:
    return EntryStore(tmp_path / "cache" / "kind", log=LOG)


def _put(store: EntryStore, key: str = KEY, text: str = "def test_a():\n    assert 1\n") -> bool:
    return store.put(
        key, inputs={"module_sha256": "ab" * 32}, payload={"note": "x"}, files={"tests/test_a.py": text}
    )


def test_an_entry_reads_back_as_written_and_is_readable_json(tmp_path: Path) -> None:
    store = _store(tmp_path)

    assert _put(store, text="def test_é():\n    assert 1\n")
    entry = store.get(KEY)

    assert entry is not None
    assert entry.payload == {"note": "x"} and entry.files == {
        "tests/test_a.py": "def test_é():\n    assert 1\n"
    }
    described = json.loads((store.folder / KEY / ENTRY_FILE).read_text())
    assert described["inputs"] == {"module_sha256": "ab" * 32} and described["key"] == KEY
    assert [p.name for p in store.folder.iterdir()] == [KEY]  # no temporary left behind


def test_a_missing_key_is_a_miss_and_creates_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)

    assert store.get(KEY) is None
    assert not store.folder.exists()


def test_a_second_writer_of_the_same_key_leaves_the_first_entry_alone(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert _put(store, text="first = 1\n")

    assert not _put(store, text="second = 2\n")

    entry = store.get(KEY)
    assert entry is not None and entry.files["tests/test_a.py"] == "first = 1\n"


def test_a_writer_losing_the_rename_race_keeps_the_winner_and_drops_its_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    real_rename = os.rename
    raced: list[bool] = []

    def another_writer_finishes_first(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        if not raced:
            raced.append(True)
            assert _put(EntryStore(store.folder, log=LOG), text="winner = 1\n")
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", another_writer_finishes_first)

    assert not _put(store, text="loser = 1\n")

    entry = store.get(KEY)
    assert entry is not None and entry.files["tests/test_a.py"] == "winner = 1\n"
    assert [p.name for p in store.folder.iterdir()] == [KEY]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda entry: (entry / ENTRY_FILE).write_text("{not json"), id="torn-entry-json"),
        pytest.param(
            lambda entry: (entry / FILES_DIR / "tests" / "test_a.py").write_text("x = 2\n"), id="edited-file"
        ),
        pytest.param(lambda entry: (entry / FILES_DIR / "tests" / "test_a.py").unlink(), id="missing-file"),
        pytest.param(
            lambda entry: (entry / ENTRY_FILE).write_text(json.dumps({"format": 1, "key": KEY})),
            id="no-payload",
        ),
    ],
)
def test_a_damaged_entry_is_a_logged_miss_and_is_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Callable[[Path], object]
) -> None:
    store = _store(tmp_path)
    _put(store)
    damage(store.folder / KEY)

    with caplog.at_level(logging.WARNING, logger=LOG.name):
        assert store.get(KEY) is None

    assert "unreadable" in caplog.text
    assert not (store.folder / KEY).exists()
    assert _put(store)  # and the next run stores a good one in its place


def test_an_entry_file_path_that_climbs_out_is_never_written(tmp_path: Path) -> None:
    store = _store(tmp_path)

    assert not store.put(KEY, inputs={}, payload={}, files={"../escape.py": "x = 1\n"})

    assert not (tmp_path / "cache" / "escape.py").exists() and store.get(KEY) is None


def test_tree_digest_follows_content_and_paths_but_not_caches(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_a.py").write_text("x = 1\n")
    before = tree_sha256(tmp_path, "tests")

    (tests / "__pycache__").mkdir()
    (tests / "__pycache__" / "test_a.cpython-311.pyc").write_bytes(b"\x00")
    assert tree_sha256(tmp_path, "tests") == before

    (tests / "test_a.py").write_text("x = 2\n")
    assert tree_sha256(tmp_path, "tests") != before

    (tests / "test_a.py").write_text("x = 1\n")
    (tests / "test_a.py").rename(tests / "test_b.py")
    assert tree_sha256(tmp_path, "tests") != before


@pytest.mark.parametrize("leftover", [".coverage", ".coverage.host.123.456", "pkg.egg-info", "mod.pyc"])
def test_tree_digest_leaves_out_what_copies_leave_out(tmp_path: Path, leftover: str) -> None:
    """The digest's notion of noise is `working_copies.NOT_COPIED`, so a tool's leftover in one tree and
    not in its copy never makes them differ."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_a.py").write_text("x = 1\n")
    before = tree_sha256(tmp_path, "tests")

    (tests / leftover).write_bytes(b"data")

    assert not_copied(leftover)
    assert tree_sha256(tmp_path, "tests") == before


def test_a_missing_folder_has_its_own_digest(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()

    assert tree_sha256(tmp_path, "absent") != tree_sha256(tmp_path, "tests")


def test_a_writer_clears_folders_a_dead_writer_left_but_not_a_live_ones(tmp_path: Path) -> None:
    store = _store(tmp_path)
    abandoned, live = store.folder / ".tmp-dead-writer", store.folder / ".tmp-live-writer"
    for folder in (abandoned, live):
        folder.mkdir(parents=True)
    two_hours_ago = time.time() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))

    _put(store)

    assert not abandoned.exists() and live.is_dir()
