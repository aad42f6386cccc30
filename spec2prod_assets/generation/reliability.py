"""Filter (c) of the funnel: every surviving test passes N repetitions in random order, in ONE pytest process.

N separate pytest processes paid N start-ups, N imports of the component and N coverage set-ups for a few
milliseconds of tests each. One process runs every test N times instead (pytest-repeat's `--count`),
with all the repetitions shuffled together (pytest-random-order's global bucket), so a test that depends
on another's leftovers, on order or on luck still meets different neighbours each time. pytest-repeat
names the repetitions `test_x[2-5]` (`test_x[a-2-5]` when parametrized); a test is unreliable when any
repetition of it fails, or never ran.

pytest-repeat cannot repeat `unittest.TestCase` methods: they run once in the shared process, and
their other N-1 runs each get a process of their own (random order too), so they are held to the same N.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from spec2prod_assets.generation.failure_reason import first_line
from spec2prod_assets.testing.pytest_run import TestOutcome, TestRun, TestRunError

RELIABILITY_RUNS = 5
# One seed per process, so a rerun of the funnel shuffles the same way (a verdict can be reproduced).
_SEED = 7919
_BRACKET_RE = re.compile(r"\[(.*)\]$")

# Run pytest on these paths or node ids with these extra arguments, allowing this many times the
# funnel's usual timeout; raises `TestRunError` when the run produced nothing trustworthy.
RunTests = Callable[[str, Sequence[str], Sequence[str], float], TestRun]


def random_order_args(seed: int, repetitions: int = 1) -> list[str]:
    """pytest arguments for one process that runs each test `repetitions` times, all shuffled together."""
    args = ["-p", "random_order", "--random-order-bucket=global", f"--random-order-seed={seed}"]
    return [*args, f"--count={repetitions}"] if repetitions > 1 else args


def name_of_test(test_id: str) -> str:
    """`tests/x.py::TestA::test_b[1-5]` -> `TestA::test_b`: parametrized variants and repetitions stand or
    fall together."""
    return re.sub(r"\[.*\]$", "", test_id.split("::", 1)[1]) if "::" in test_id else test_id


def unreliable_tests(test_ids: Sequence[str], run: RunTests, runs: int) -> dict[str, str]:
    """Why each unreliable test of `test_ids` (`path::name`, no brackets) is unreliable, by test id.

    Raises `TestRunError` when the shared run crashed: it then proves none of the tests in it.
    """
    files = list(dict.fromkeys(test_id.split("::")[0] for test_id in test_ids))
    tallies = {test_id: _Tally() for test_id in test_ids}
    shared = run("reliability", files, random_order_args(_SEED, runs), runs)
    once = _tally(tallies, shared.outcomes, runs)
    for attempt in range(2, runs + 1):  # the tests pytest-repeat could not repeat (unittest.TestCase)
        if not once:
            break
        label = f"reliability-unrepeated-{attempt}"
        try:
            extra = run(label, sorted(once), random_order_args(_SEED * attempt), 1)
        except TestRunError as exc:  # proves nothing about the repeated tests: only these fall out
            for node_id in once:
                tallies[_test_key(node_id)].crashed(
                    attempt, f"repetition {attempt} crashed: {first_line(exc)}"
                )
            break
        _tally(tallies, extra.outcomes, runs, repetition=attempt)
    return {test_id: reason for test_id, tally in tallies.items() if (reason := tally.verdict(runs))}


@dataclass
class _Tally:
    """One test's repetitions: those with a pass of every variant, those with a failure, the first why."""

    passed: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    first_failure: str = ""

    def record(self, repetition: int, outcome: TestOutcome) -> None:
        if outcome.outcome == "passed":
            self.passed.add(repetition)
        else:
            self.crashed(repetition, f"{outcome.outcome}: {first_line(outcome.message) or outcome.outcome}")

    def crashed(self, repetition: int, why: str) -> None:
        self.failed.add(repetition)
        self.first_failure = self.first_failure or why

    def verdict(self, runs: int) -> str | None:
        """None when every one of `runs` repetitions passed; else the reason, counting what failed."""
        passed = self.passed - self.failed
        if len(passed) >= runs:
            return None
        missing = runs - len(passed | self.failed)
        reason = f"flaky: failed {len(self.failed)} of {runs} random-order repetitions"
        if missing:
            reason += f", {missing} did not run"
        return f"{reason} ({self.first_failure})" if self.first_failure else reason


def _tally(
    tallies: dict[str, _Tally], outcomes: Iterable[TestOutcome], runs: int, *, repetition: int | None = None
) -> set[str]:
    """Record each outcome under its test and repetition; returns the node ids that ran unrepeated."""
    unrepeated: set[str] = set()
    for outcome in outcomes:
        tally = tallies.get(_test_key(outcome.test_id))
        if tally is None:
            continue
        index = repetition or _repetition(outcome.test_id, runs)
        if index is None:
            unrepeated.add(outcome.test_id)
            index = 1
        tally.record(index, outcome)
    return unrepeated


def _test_key(node_id: str) -> str:
    """`path::name`, the key the funnel knows a test by, from any variant's or repetition's node id."""
    return f"{node_id.split('::')[0]}::{name_of_test(node_id)}"


def _repetition(node_id: str, runs: int) -> int | None:
    """Which of `runs` repetitions a node id is (pytest-repeat appends `<i>-<runs>` to its brackets);
    None when it has none: one run needs no repetition, and unittest methods cannot be repeated."""
    if runs <= 1:
        return 1
    match = _BRACKET_RE.search(node_id)
    found = re.search(rf"(?:^|-)(\d+)-{runs}$", match.group(1)) if match else None
    return int(found.group(1)) if found else None
