"""How one shared pytest process's repeated outcomes become verdicts: pytest-repeat's node ids mapped back to
each test, every repetition counted, and unittest methods (which pytest-repeat cannot repeat) run again.

The runs here are recorded outcomes, so each counting rule is checked on its own; the real pytest process
behind them is exercised in test_funnel_reliability.py."""

from __future__ import annotations

from collections.abc import Sequence

from spec2prod_assets.generation.reliability import name_of_test, random_order_args, unreliable_tests
from spec2prod_assets.testing import pytest_run as test_runner

FILE = "tests/pkg/test_gen.py"


def _run(*outcomes: tuple[str, test_runner.TestOutcomeKind]) -> test_runner.TestRun:
    return test_runner.TestRun(
        exit_code=0,
        collected=len(outcomes),
        outcomes=tuple(
            test_runner.TestOutcome(
                test_id=f"{FILE}::{node}",
                outcome=kind,
                message="E   assert 1 == 2" if kind != "passed" else "",
            )
            for node, kind in outcomes
        ),
        coverage=None,
        duration_s=0.1,
    )


class _Recorder:
    """Hands out recorded runs in order and remembers what each call asked for."""

    def __init__(self, *runs: test_runner.TestRun) -> None:
        self.runs = list(runs)
        self.calls: list[tuple[str, list[str], list[str], float]] = []

    def __call__(
        self, label: str, paths: Sequence[str], args: Sequence[str], factor: float
    ) -> test_runner.TestRun:
        self.calls.append((label, list(paths), list(args), factor))
        return self.runs.pop(0)


def test_one_failed_repetition_of_a_parametrized_variant_makes_the_whole_test_unreliable() -> None:
    shared = _run(
        *[(f"test_a[x-{i}-3]", "passed") for i in (1, 2, 3)],
        *[(f"test_a[y-{i}-3]", "failed" if i == 2 else "passed") for i in (1, 2, 3)],
        *[(f"test_b[{i}-3]", "passed") for i in (1, 2, 3)],
    )
    runner = _Recorder(shared)

    verdicts = unreliable_tests([f"{FILE}::test_a", f"{FILE}::test_b"], runner, 3)

    assert verdicts == {
        f"{FILE}::test_a": "flaky: failed 1 of 3 random-order repetitions (failed: assert 1 == 2)"
    }
    ((label, paths, args, factor),) = runner.calls
    assert (label, paths, factor) == ("reliability", [FILE], 3)
    assert "--count=3" in args and "--random-order-bucket=global" in args


def test_a_repetition_that_never_ran_counts_against_the_test() -> None:
    runner = _Recorder(_run(("test_b[1-3]", "passed"), ("test_b[3-3]", "passed")))

    verdicts = unreliable_tests([f"{FILE}::test_b"], runner, 3)

    assert verdicts == {f"{FILE}::test_b": "flaky: failed 0 of 3 random-order repetitions, 1 did not run"}


def test_a_unittest_method_that_ran_once_gets_its_other_runs_in_processes_of_their_own() -> None:
    shared = _run(("TestCalc::test_add", "passed"), *[(f"test_b[{i}-3]", "passed") for i in (1, 2, 3)])
    runner = _Recorder(shared, _run(("TestCalc::test_add", "passed")), _run(("TestCalc::test_add", "error")))

    verdicts = unreliable_tests([f"{FILE}::TestCalc::test_add", f"{FILE}::test_b"], runner, 3)

    assert verdicts == {
        f"{FILE}::TestCalc::test_add": "flaky: failed 1 of 3 random-order repetitions (error: assert 1 == 2)"
    }
    assert [(label, paths) for label, paths, _, _ in runner.calls[1:]] == [
        ("reliability-unrepeated-2", [f"{FILE}::TestCalc::test_add"]),
        ("reliability-unrepeated-3", [f"{FILE}::TestCalc::test_add"]),
    ]
    assert all("--count" not in " ".join(args) for _, _, args, _ in runner.calls[1:])


def test_a_single_run_needs_no_repetition_suffix() -> None:
    assert unreliable_tests([f"{FILE}::test_b"], _Recorder(_run(("test_b", "passed"))), 1) == {}
    assert "--count" not in " ".join(random_order_args(1))


def test_repetitions_and_variants_map_back_to_the_test() -> None:
    assert name_of_test(f"{FILE}::TestA::test_b[x-2-5]") == "TestA::test_b"
