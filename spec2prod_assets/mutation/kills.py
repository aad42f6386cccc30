"""Which tests, each on its own, kill which of a given set of mutants (those another suite let survive).

This is how a test that adds no coverage can still prove its worth: it notices a bug the existing
suite would not. mutmut does not say which test killed a mutant, so it is asked twice. First all the
tests together against all the targets, one mutmut run, which settles the usual case (nothing killed)
cheaply. Then, only for the mutants that died, each test alone, in the order given, against the
survivors its code reaches (mutmut's own test map): the first test to kill a mutant is credited with
it, so a later test that only repeats that kill earns nothing, as in the coverage filter.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from spec2prod_assets.mutation import mutmut_tool
from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.storage.working_copies import copy_tree


@dataclass(frozen=True)
class Kills:
    by_test: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Test node id -> the target mutants credited to it (only tests with at least one)."""
    unchecked: tuple[str, ...] = ()
    """Tests the budget ran out before: neither credited nor cleared."""


def kills_by_test(
    tree: Path,
    layout: ComponentLayout,
    *,
    tests: Sequence[str],
    targets: Collection[str],
    work_dir: Path,
    budget_s: float,
    mutant_timeout_s: float = 10.0,
    sandbox: bool = True,
) -> Kills:
    """`tests` are pytest node ids in `tree`, `targets` mutmut names of mutants of its source; a target
    this source does not have is ignored. `MutationRunError` when mutmut cannot run or be read."""
    deadline = time.monotonic() + budget_s
    if not tests or not targets:
        return Kills()
    work_dir.mkdir(parents=True, exist_ok=False)
    copy = copy_tree(tree, work_dir / "tree")
    python = layout.python or sys.executable

    def run(selection: Sequence[str], mutants: Sequence[str]) -> set[str] | None:
        """The mutants of `mutants` that `selection` kills; None when the budget ran out first."""
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        mutmut_tool.write_config(copy, layout, mutant_timeout_s, tests=selection)
        result = mutmut_tool.run_batch(
            copy, layout, mutants, python=python, timeout_s=left + mutant_timeout_s, sandboxed=sandbox
        )
        if result.timed_out:
            return None
        verdicts = mutmut_tool.read_verdicts(copy, layout)
        return {name for name in mutants if verdicts[name].exit_code in mutmut_tool.KILLED}

    mutmut_tool.write_config(copy, layout, mutant_timeout_s, tests=tests)
    mutmut_tool.generate(
        copy, layout, python=python, timeout_s=budget_s + mutant_timeout_s, sandboxed=sandbox
    )
    present = sorted(set(mutmut_tool.read_verdicts(copy, layout)) & set(targets))
    killed = run(tests, present) if present else set()
    if killed is None:
        return Kills(unchecked=tuple(tests))
    reaching = mutmut_tool.tests_reaching(copy) if killed else {}
    by_test: dict[str, tuple[str, ...]] = {}
    for index, test in enumerate(tests):
        if not killed:
            break
        aimed = sorted(m for m in killed if test in reaching.get(mutmut_tool.function_of(m), ()))
        if not aimed:
            continue
        own = run([test], aimed)
        if own is None:
            return Kills(by_test=by_test, unchecked=tuple(tests[index:]))
        if own:
            by_test[test] = tuple(sorted(own))
            killed -= own
    return Kills(by_test=by_test)
