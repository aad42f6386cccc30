"""The spec sensor's cursor: what it knows about every spec file, as JSON kept by Dagster between ticks.

One entry per spec path: the sha256 of its bytes and either the slug and target stage one parse gave
(so a run can be requested later without parsing again, e.g. once a duplicate slug is gone) or the error
it failed with (so a broken spec is reported once and not parsed again until it changes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from spec2prod_assets.spec.model import Stage

CURSOR_VERSION = 2  # 2: entries carry the target stage
MAX_CURSOR_ERROR_CHARS = 300  # the cursor holds one error per broken spec: keep each one short


@dataclass(frozen=True)
class SpecEntry:
    """What the sensor knows about one spec file's current content.

    `requested` is False for a parsed spec that has not run yet: its slug is claimed twice, or the tick
    that parsed it ran out of parse budget before every changed spec was read.
    """

    sha: str
    slug: str | None = None
    stage: Stage | None = None  # the spec's target stage, from the same parse as the slug
    error: str | None = None
    requested: bool = False
    pending: bool = False  # seen with this content once, too recently changed to be read yet

    def to_json(self) -> dict[str, str | bool]:
        if self.pending:
            return {"sha": self.sha, "pending": True}
        if self.error is not None:
            return {"sha": self.sha, "error": self.error}
        stage = self.stage.value if self.stage else ""
        return {"sha": self.sha, "slug": self.slug or "", "stage": stage, "requested": self.requested}

    @staticmethod
    def from_json(raw: object) -> SpecEntry:
        if not isinstance(raw, dict) or not isinstance(raw.get("sha"), str):
            raise ValueError(f"not a spec entry: {raw!r}")
        if raw.get("pending") is True:
            return SpecEntry(sha=raw["sha"], pending=True)
        if isinstance(raw.get("error"), str):
            return SpecEntry(sha=raw["sha"], error=raw["error"])
        if not isinstance(raw.get("slug"), str) or not raw["slug"]:
            raise ValueError(f"spec entry without slug or error: {raw!r}")
        if raw.get("stage") not in {stage.value for stage in Stage}:
            raise ValueError(f"spec entry without a target stage: {raw!r}")
        return SpecEntry(
            sha=raw["sha"], slug=raw["slug"], stage=Stage(raw["stage"]), requested=bool(raw.get("requested"))
        )


def read_cursor(cursor: str | None) -> tuple[dict[str, SpecEntry], str | None]:
    """The entries of a cursor, or none and the reason when it is missing or unreadable.

    An unreadable cursor costs one re-parse of every spec and nothing else: unchanged content maps to
    the run keys that already exist, which Dagster does not launch again.
    """
    if not cursor:
        return {}, None
    try:
        raw = json.loads(cursor)
        if not isinstance(raw, dict) or raw.get("version") != CURSOR_VERSION:
            raise ValueError(f"cursor version is not {CURSOR_VERSION}")
        specs = raw.get("specs")
        if not isinstance(specs, dict):
            raise ValueError("cursor has no 'specs' mapping")
        return {str(path): SpecEntry.from_json(entry) for path, entry in specs.items()}, None
    except ValueError as exc:
        return {}, f"Ignoring an unreadable sensor cursor ({exc}); every spec is read again."


def write_cursor(entries: Mapping[str, SpecEntry]) -> str:
    specs = {path: entries[path].to_json() for path in sorted(entries)}
    return json.dumps({"version": CURSOR_VERSION, "specs": specs}, separators=(",", ":"))
