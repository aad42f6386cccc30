"""How long one `crosshair cover` run may take: from the module's size, capped by what the run has left.

A flat budget per module was either too long for a ten-line module (a hang held the stage for minutes)
or too short for a large one. CrossHair's time grows with the code it explores, so the budget is a base
for its start-up plus a share per line of code, kept between a floor and the per-module maximum, and
never beyond what is left of the generator's deadline for the whole run: a task that waited in the
queue gets only the time that remains. The reason travels with the number, so a task killed at its
budget says why the budget was that size.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetPolicy:
    """The knobs of the budget: seconds for start-up, per line of code, and the floor and ceiling."""

    min_s: float = 30.0
    base_s: float = 30.0
    per_line_s: float = 2.0
    max_s: float = 180.0

    def describe(self) -> str:
        """Every knob, for a cache identity: a changed knob can change what CrossHair finds."""
        return f"min={self.min_s:g}s,base={self.base_s:g}s,per_line={self.per_line_s:g}s,max={self.max_s:g}s"


@dataclass(frozen=True)
class TaskBudget:
    """The seconds one task may run, and why it got that many."""

    seconds: float
    reason: str


def code_lines(source: str) -> int:
    """Lines that hold code: blank lines and comment-only lines take CrossHair no time."""
    return sum(1 for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def task_budget(lines: int, policy: BudgetPolicy, *, remaining_s: float | None = None) -> TaskBudget:
    """clamp(min, base + per_line * lines, max), then no more than `remaining_s` of the run's deadline."""
    sized = policy.base_s + policy.per_line_s * lines
    formula = f"{policy.base_s:g}s + {policy.per_line_s:g}s * {lines} code lines"
    if sized > policy.max_s:
        seconds, reason = policy.max_s, f"{formula} capped at the per-module maximum of {policy.max_s:g}s"
    elif sized < policy.min_s:
        seconds, reason = policy.min_s, f"{formula} raised to the minimum of {policy.min_s:g}s"
    else:
        seconds, reason = sized, formula
    if remaining_s is not None and remaining_s < seconds:
        left = max(0.0, remaining_s)
        return TaskBudget(round(left, 3), f"only {left:.0f}s left of the run's deadline ({reason})")
    return TaskBudget(round(seconds, 3), reason)
