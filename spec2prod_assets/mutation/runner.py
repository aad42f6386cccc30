"""A mutation run within a time budget, on a copy, sampled (seeded) when the whole set would not fit.

The order of the mutants is a seeded shuffle, so the same tree and seed always pick the same sample. A
first small batch measures what a batch costs here: a fixed part (mutmut maps the tests to functions and
runs the suite clean before any mutant) and a part per mutant (mutmut times each). The rest is cut to
what the remaining budget pays for, with a margin, and the report says so. Each batch is also killed at
the deadline: a suite slower than its first batch suggested still ends within the budget plus one
mutant's timeout, with what it reached (mutmut runs the cheapest mutants first, so a batch cut short is
a sample biased to fast ones, which is why the estimate keeps a margin).
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Collection
from pathlib import Path

from spec2prod_assets.mutation import mutmut_tool
from spec2prod_assets.mutation.report import MutantOutcome, MutationReport, MutationRunError
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
    batch_started = time.monotonic()
    if first and batch_started < deadline:
        _batch(copy, layout, first, python, deadline, mutant_timeout_s, sandbox, reasons)
    if first and rest and time.monotonic() < deadline:
        chosen = _affordable(copy, layout, first, rest, deadline, time.monotonic() - batch_started)
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


# Estimated costs are multiplied by this: a batch that overruns is cut off with a biased sample.
_MARGIN = 1.5


def _affordable(
    copy: Path, layout: ComponentLayout, first: list[str], rest: list[str], deadline: float, batch_s: float
) -> list[str]:
    """As many of `rest` (in order) as the time left pays for: one more batch's fixed part, and each
    mutant at the mean time mutmut measured for those of the first batch (`batch_s` long) that ran."""
    verdicts = mutmut_tool.read_verdicts(copy, layout)
    durations = [verdicts[name].duration_s or 0.0 for name in first if verdicts[name].exit_code is not None]
    if not durations:
        return []  # the first batch reached no verdict: another one would not either
    per_mutant = max(sum(durations) / len(durations), 0.001) * _MARGIN
    fixed = max(batch_s - sum(durations), 0.0) * _MARGIN
    left = deadline - time.monotonic() - fixed
    return rest[: max(0, int(left / per_mutant))]


def _report(
    copy: Path, layout: ComponentLayout, names: list[str], reasons: list[str], duration_s: float
) -> MutationReport:
    verdicts = mutmut_tool.read_verdicts(copy, layout)
    missing = set(names) - set(verdicts)
    if missing:
        raise MutationRunError(f"mutmut reported no result for {len(missing)} generated mutants")
    ran = [verdicts[name] for name in names if verdicts[name].exit_code is not None]
    outcomes = {v.name: _outcome(v.exit_code) for v in ran}
    counts = Counter(outcomes.values())
    survivors = sorted(
        (mutmut_tool.describe(copy, v) for v in ran if outcomes[v.name] == "survived"),
        key=lambda s: (s.file, s.line, s.change),
    )
    return MutationReport(
        tool="mutmut",
        mutants_total=len(names),
        mutants_run=len(ran),
        mutants_killed=counts["killed"],
        mutants_survived=counts["survived"],
        mutants_timed_out=counts["timed_out"],
        mutants_suspicious=counts["suspicious"],
        sampled=len(ran) < len(names),
        sample_reason="; ".join(reasons),
        duration_s=round(duration_s, 3),
        survivors=tuple(survivors),
        sample=tuple(sorted(outcomes)) if len(ran) < len(names) else (),
        outcomes=outcomes,
    )


def _outcome(exit_code: int | None) -> MutantOutcome:
    if exit_code in mutmut_tool.KILLED:
        return "killed"
    if exit_code in mutmut_tool.SURVIVED:
        return "survived"
    return "timed_out" if exit_code in mutmut_tool.TIMED_OUT else "suspicious"
