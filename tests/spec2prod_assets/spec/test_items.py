"""One requirement or criterion line, read the same whichever part of the spec it came from."""

from __future__ import annotations

import pytest

from spec2prod_assets.spec.items import Item, is_item_id, kind_from_id, parse_item
from spec2prod_assets.spec.model import Priority, RequirementKind


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("FR-1: Add two numbers", Item("FR-1", "Add two numbers", 3, RequirementKind.FUNCTIONAL)),
        ("[NFR-2] Fast", Item("NFR-2", "Fast", 3, RequirementKind.NON_FUNCTIONAL)),
        ("FR1: compact id", Item("FR1", "compact id", 3, RequirementKind.FUNCTIONAL)),
        ("FR1 needs a colon", Item(None, "FR1 needs a colon", 3)),
        ("[x] AC-1 \u2013 done", Item("AC-1", "done", 3)),
    ],
)
def test_parse_item_splits_id_and_text(text: str, item: Item) -> None:
    assert parse_item(text, 3, with_priority=False) == item


def test_only_a_marked_priority_counts() -> None:
    marked = parse_item("FR-1: Divide (Should)", 1, with_priority=True)
    prose = parse_item("FR-1: The tool must divide", 1, with_priority=True)
    assert marked is not None and (marked.text, marked.priority) == ("Divide", Priority.SHOULD)
    assert prose is not None and (prose.text, prose.priority) == ("The tool must divide", None)


def test_an_empty_bullet_is_no_item() -> None:
    assert parse_item("  [ ]  ", 1, with_priority=True) is None


@pytest.mark.parametrize(
    ("text", "expected"), [("FR-1", True), ("NFR2", True), ("FR-1: x", False), ("x", False)]
)
def test_is_item_id_wants_the_whole_text(text: str, expected: bool) -> None:
    assert is_item_id(text) is expected


def test_kind_follows_the_id_prefix() -> None:
    assert kind_from_id("nfr-3") is RequirementKind.NON_FUNCTIONAL
    assert kind_from_id("REQ-3") is None
