"""Requirement and acceptance-criterion lines: `FR-1: Add two numbers (Must)` -> id, text, kind, priority.

Front matter and Markdown body both hold such one-line items, so what counts as an id or a marked
priority is decided here, once, for both. Items without an id get one only when the whole spec has been
read (see `draft`), since an id written further down must not be handed out twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spec2prod_assets.spec.model import Priority, RequirementKind

PRIORITIES = {
    "must": Priority.MUST,
    "high": Priority.MUST,
    "should": Priority.SHOULD,
    "medium": Priority.SHOULD,
    "could": Priority.COULD,
    "low": Priority.COULD,
}
KINDS = {
    "functional": RequirementKind.FUNCTIONAL,
    "fr": RequirementKind.FUNCTIONAL,
    "non_functional": RequirementKind.NON_FUNCTIONAL,
    "nonfunctional": RequirementKind.NON_FUNCTIONAL,
    "nfr": RequirementKind.NON_FUNCTIONAL,
}

DASHES = "\u2013\u2014"  # en and em dash, as editors turn " - " into them
# `FR-1`, `NFR-2`, `REQ-003`, `FR-1.2`; a compact `FR1` only counts as an id when a ':' follows it.
_HYPHEN_ID = r"[A-Z][A-Z0-9]*(?:[-_.][A-Z0-9]+)*[-_.]\d+"
_COMPACT_ID = r"[A-Z]+\d+(?:\.\d+)*"
_ITEM_ID_RE = re.compile(
    rf"^(?:\[(?P<bracketed>{_HYPHEN_ID}|{_COMPACT_ID})\]\s*[:\-{DASHES}]?"
    rf"|(?P<hyphen>{_HYPHEN_ID})(?:\s*[:)\-{DASHES}]|\s|$)"
    rf"|(?P<compact>{_COMPACT_ID})\s*[:)])\s*(?P<text>.*)$"
)
_WHOLE_ID_RE = re.compile(rf"{_HYPHEN_ID}|{_COMPACT_ID}")
_PRIORITY_WORD = "|".join(PRIORITIES)
# Only marked priorities count ("(Must)", "[SHOULD]", "Priority: High"): "the tool must ..." is prose.
_PRIORITY_MARK_RE = re.compile(
    rf"[(\[]\s*(?:priority\s*[:=]?\s*)?(?P<marked>{_PRIORITY_WORD})(?:\s+(?:have|priority))?\s*[)\]]"
    rf"|\bpriority\s*[:=]\s*(?P<labelled>{_PRIORITY_WORD})\b",
    re.IGNORECASE,
)
_CHECKBOX_RE = re.compile(r"^\[[ xX]\](?:\s+|$)")
_SEPARATORS = f" \t:;,-{DASHES}"


@dataclass(frozen=True)
class Item:
    """A requirement or acceptance criterion as written; ids and kinds are settled once all are known."""

    id: str | None
    text: str
    line: int
    kind: RequirementKind | None = None
    priority: Priority | None = None


def is_item_id(text: str) -> bool:
    """Whether `text` is exactly an item id such as `FR-1` or `NFR2`."""
    return _WHOLE_ID_RE.fullmatch(text) is not None


def parse_item(text: str, line: int, *, with_priority: bool) -> Item | None:
    """Split `FR-1: Add two numbers (Must)` into id, text and priority; None for an empty bullet."""
    text = _CHECKBOX_RE.sub("", text.strip(), count=1)
    priority = None
    if with_priority:
        priority, text = _take_priority(text)
    match = _ITEM_ID_RE.match(text)
    item_id = None
    if match:
        item_id = match["bracketed"] or match["hyphen"] or match["compact"]
        text = match["text"]
    text = text.strip(_SEPARATORS)
    if item_id is None and not text:
        return None
    return Item(item_id, text, line, kind_from_id(item_id), priority)


def _take_priority(text: str) -> tuple[Priority | None, str]:
    match = _PRIORITY_MARK_RE.search(text)
    if match is None:
        return None, text
    word = match["marked"] or match["labelled"]
    remaining = " ".join(_PRIORITY_MARK_RE.sub(" ", text).split())
    return PRIORITIES[word.casefold()], remaining.replace(" .", ".").strip(_SEPARATORS)


def kind_from_id(item_id: str | None) -> RequirementKind | None:
    prefix = (item_id or "").upper()
    if prefix.startswith("NFR"):
        return RequirementKind.NON_FUNCTIONAL
    if prefix.startswith("FR"):
        return RequirementKind.FUNCTIONAL
    return None
