"""A mutation run within a time budget, on a copy, sampled (seeded) when the whole set would not fit.

The order of the mutants is a seeded shuffle, so the same tree and seed always pick the same sample. A
first small batch measures what one mutant costs here; the rest is cut to what the remaining budget
pays for, and the report says so. Each batch is also killed at the deadline: a suite slower than its
first batch suggested still ends within the budget plus one mutant's timeout, with what it reached.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Collection
from pathlib import Path

from spec2prod_assets.mutation import mutmut_tool
from spec2prod_assets.mutation.report import MutationReport, MutationRunError
from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.storage.working_copies import copy_tree

CALIBRATION_MUTANTS = 5


def run_mutation(
    tree: Path,
    layout: ComponentLayout,
    *,
    work_dir: Path,
    budget_s: float,
    seed: int = 0,
    mutant_timeout_s: float = 10.0,
    sandbox: bool = True,
    only: Collection[str] | None = None,
) -> MutationReport:
    """Mutate the component's source in a copy of `tree` (under `work_dir`, which must not exist) and run
    its tests against each mutant; `MutationRunError` when mutmut cannot run or its results cannot be read.

    `only` limits the run to these mutants (another run's `sample`), so two suites compare on the same
    ones; a name this source does not have (its function was refactored away) is left out.
    """
    started = time.monotonic()
    deadline = started + budget_s
    work_dir.mkdir(parents=True, exist_ok=False)
    copy = copy_tree(tree, work_dir / "tree")
    python = layout.python or sys.executable
    mutmut_tool.write_config(copy, layout, mutant_timeout_s)
    mutmut_tool.generate(
        copy, layout, python=python, timeout_s=budget_s + mutant_timeout_s, sandboxed=sandbox
    )
    generated = mutmut_tool.read_verdicts(copy, layout)
    names = sorted(generated if only is None else set(generated) & set(only))
    random.Random(seed).shuffle(names)
    first, rest = names[:CALIBRATION_MUTANTS], names[CALIBRATION_MUTANTS:]
    reasons: list[str] = []
    if first and time.monotonic() < deadline:
        _batch(copy, layout, first, python, deadline, mutant_timeout_s, sandbox, reasons)
    if first and rest and time.monotonic() < deadline:
        chosen = _affordable(copy, layout, first, rest, deadline, started)
        if len(chosen) < len(rest):
            reasons.append(
                f"the estimated cost of all {len(names)} mutants exceeds the {budget_s:.0f}s budget: "
                f"ran a seeded sample (seed {seed}) of {len(first) + len(chosen)}"
            )
        if chosen:
            _batch(copy, layout, chosen, python, deadline, mutant_timeout_s, sandbox, reasons)
    else:
        verdicts = mutmut_tool.read_verdicts(copy, layout)
        waiting = sum(1 for name in names if verdicts[name].exit_code is None)
        if waiting:
            reasons.append(f"the {budget_s:.0f}s budget was spent before {waiting} mutants could run")
    if only is not None and len(names) < len(generated):
        reasons.insert(0, f"limited to {len(names)} of {len(generated)} mutants: those the other suite ran")
    return _report(copy, layout, names, reasons, time.monotonic() - started)


def _batch(
    copy: Path,
    layout: ComponentLayout,
    names: list[str],
    python: str,
    deadline: float,
    mutant_timeout_s: float,
    sandbox: bool,
    reasons: list[str],
) -> None:
    remaining = deadline - time.monotonic()
    result = mutmut_tool.run_batch(
        copy, layout, names, python=python, timeout_s=remaining + mutant_timeout_s, sandboxed=sandbox
    )
    if result.timed_out:
        reasons.append("the budget ran out during a batch: mutants not reached were not run")


def _affordable(
    copy: Path, layout: ComponentLayout, first: list[str], rest: list[str], deadline: float, started: float
) -> list[str]:
    """As many of `rest` (in order) as the time left pays for, at the cost per mutant measured so far
    (the whole elapsed time shared among the mutants run: pessimistic, which keeps within budget)."""
    verdicts = mutmut_tool.read_verdicts(copy, layout)
    done = sum(1 for name in first if verdicts[name].exit_code is not None)
    elapsed = time.monotonic() - started
    per_mutant = elapsed / max(done, 1) if done else elapsed
    left = deadline - time.monotonic()
    return rest[: max(0, int(left / per_mutant))] if per_mutant > 0 else rest


def _report(
    copy: Path, layout: ComponentLayout, names: list[str], reasons: list[str], duration_s: float
) -> MutationReport:
    verdicts = mutmut_tool.read_verdicts(copy, layout)
    missing = set(names) - set(verdicts)
    if missing:
        raise MutationRunError(f"mutmut reported no result for {len(missing)} generated mutants")
    ran = [verdicts[name] for name in names if verdicts[name].exit_code is not None]
    killed = [v for v in ran if v.exit_code in mutmut_tool.KILLED]
    survived = [v for v in ran if v.exit_code in mutmut_tool.SURVIVED]
    timed_out = [v for v in ran if v.exit_code in mutmut_tool.TIMED_OUT]
    survivors = sorted(
        (mutmut_tool.describe(copy, v) for v in survived), key=lambda s: (s.file, s.line, s.change)
    )
    return MutationReport(
        tool="mutmut",
        mutants_total=len(names),
        mutants_run=len(ran),
        mutants_killed=len(killed),
        mutants_survived=len(survived),
        mutants_timed_out=len(timed_out),
        mutants_suspicious=len(ran) - len(killed) - len(survived) - len(timed_out),
        sampled=len(ran) < len(names),
        sample_reason="; ".join(reasons),
        duration_s=round(duration_s, 3),
        survivors=tuple(survivors),
        sample=tuple(sorted(v.name for v in ran)) if len(ran) < len(names) else (),
    )
