"""The one table `make bench` ends with: one row per measured ratio, beside its target.

A row is data (numbers, or None where a variant was not measured) so each scenario can return rows
without knowing how they are printed, and a skipped scenario still gets a row that says why.
"""

from __future__ import annotations

import datetime
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field

COLUMNS = ("scenario", "variant A", "variant B", "ratio", "target", "met?")


@dataclass(frozen=True)
class Row:
    """One measured ratio. `variant_a`/`variant_b` are labelled values ("sync 41.2 s"); `met` is None when
    the row has no target or could not be measured."""

    scenario: str
    variant_a: str
    variant_b: str
    ratio: float | None
    target: str
    met: bool | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def unmeasured(cls, scenario: str, why: str) -> Row:
        """A scenario that was skipped or failed: the table says so and why, rather than a number."""
        return cls(scenario, "-", "-", None, "-", None, notes=(why,))


def machine_line() -> str:
    """What the numbers were measured on: a ratio is only comparable on a similar machine and load."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"machine: {os.cpu_count()} cores (nproc), load {load}, {platform.platform(terse=True)}, {now}"


def render(rows: Sequence[Row]) -> str:
    """A plain-text table (fixed-width columns) followed by each row's notes."""
    cells = [COLUMNS] + [
        (
            row.scenario,
            row.variant_a,
            row.variant_b,
            "n/a" if row.ratio is None else f"{row.ratio:.2f}",
            row.target,
            {True: "yes", False: "NO", None: "-"}[row.met],
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"  {row.scenario}: {note}" for row in rows for note in row.notes]
    return "\n".join([*lines, *(["", "notes:", *notes] if notes else [])])
