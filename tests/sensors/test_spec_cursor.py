"""The spec sensor's cursor: what one parse found survives between ticks, and anything else is refused."""

from __future__ import annotations

import json

from sensors.spec_cursor import CURSOR_VERSION, SpecEntry, read_cursor, write_cursor
from spec2prod_assets.spec.model import Stage

ENTRIES = {
    "specs/b.md": SpecEntry(sha="2" * 64, slug="b", stage=Stage.DEV, requested=True),
    "specs/a.md": SpecEntry(sha="1" * 64, slug="a", stage=Stage.STAGING),
    "specs/broken.md": SpecEntry(sha="3" * 64, error="specs/broken.md:3: unknown target stage 'moon'"),
    "specs/new.md": SpecEntry(sha="4" * 64, pending=True),
}


def test_every_kind_of_entry_reads_back_as_it_was_written() -> None:
    entries, problem = read_cursor(write_cursor(ENTRIES))

    assert problem is None
    assert entries == ENTRIES


def test_the_cursor_is_compact_json_sorted_by_path() -> None:
    raw = json.loads(write_cursor(ENTRIES))

    assert raw["version"] == CURSOR_VERSION
    assert list(raw["specs"]) == sorted(ENTRIES)
    assert raw["specs"]["specs/b.md"] == {"sha": "2" * 64, "slug": "b", "stage": "dev", "requested": True}


def test_a_parsed_entry_without_a_known_target_stage_makes_the_cursor_unreadable() -> None:
    raw = json.loads(write_cursor(ENTRIES))
    raw["specs"]["specs/a.md"]["stage"] = "moon"

    entries, problem = read_cursor(json.dumps(raw))

    assert entries == {}
    assert problem is not None and "spec entry without a target stage" in problem


def test_no_cursor_is_no_entries_and_no_problem() -> None:
    assert read_cursor(None) == ({}, None)
