"""The funnel's reliability filter on a tiny real component: all N random-order repetitions of every test in
ONE pytest process, a test rejected when any repetition fails. Real pytest subprocesses; the flaky tests
count their invocations in a file inside the funnel's tree (the one folder a run may write)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from spec2prod_assets.generation.funnel import RELIABILITY_RUNS
from tests.spec2prod_assets.generation import test_funnel as funnel_tests
from tests.spec2prod_assets.generation.test_funnel import Component, _file, _funnel

# The funnel tests' untouched tiny component and its baseline, built once for this module too.
component = funnel_tests.component

# Fails on every even invocation: the pass filter's run is the 1st, so repetitions 1, 3 and 5 of 5 fail.
ALTERNATING = dedent(
    """\
    from pathlib import Path

    from mathy.ops import safe_div

    COUNTER = Path({counter!r})


    def test_safe_div_every_other_time():
        runs = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1
        COUNTER.write_text(str(runs))
        assert runs % 2 == 1
        assert safe_div(4, 2) == 2
    """
)

RELIABLE = dedent(
    """\
    from mathy.ops import sign


    def test_sign_of_a_negative_number():
        assert sign(-5) == -1


    def test_sign_of_zero():
        assert sign(0) == 0
    """
)

# A unittest method, which pytest-repeat cannot repeat; fails on its 3rd invocation only: the pass filter's
# run is the 1st, the shared reliability process the 2nd, the first process of its own the 3rd.
UNITTEST_FLAKY = dedent(
    """\
    import unittest
    from pathlib import Path

    from mathy.ops import safe_div

    COUNTER = Path({counter!r})


    class TestSafeDiv(unittest.TestCase):
        def test_divides(self):
            runs = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1
            COUNTER.write_text(str(runs))
            self.assertNotEqual(runs, 3)
            self.assertEqual(safe_div(4, 2), 2)
    """
)


def _runs(work_dir: Path) -> list[str]:
    """The funnel's pytest runs in order, without their numbers."""
    return [name.split("-", 1)[1] for name in sorted(p.name for p in (work_dir / "runs").iterdir())]


def test_one_process_rejects_the_flaky_test_and_accepts_the_reliable_ones(
    component: Component, tmp_path: Path
) -> None:
    work_dir = tmp_path / "funnel"
    counter = work_dir / "tree" / "alternating-runs.txt"

    result = _funnel(
        component,
        work_dir,
        [_file("test_flaky.py", ALTERNATING.format(counter=str(counter))), _file("test_sign.py", RELIABLE)],
        reliability_runs=RELIABILITY_RUNS,
        check_policy=False,  # the counter writes a file, which the policy refuses; this is about the filter
    )

    assert _runs(work_dir) == ["collect-pass", "reliability", "coverage"]  # one process for all 5
    assert int(counter.read_text()) == 1 + RELIABILITY_RUNS
    (rejection,) = result.rejections
    assert rejection.stage == "reliable"
    assert rejection.test is not None and rejection.test.endswith("::test_safe_div_every_other_time")
    assert rejection.reason.startswith("flaky: failed 3 of 5 random-order repetitions (failed: ")
    assert (result.tests_passing, result.tests_reliable, result.tests_accepted) == (3, 2, 2)
    assert {name.rsplit("::", 1)[-1] for name in result.accepted_tests} == {
        "test_sign_of_a_negative_number",
        "test_sign_of_zero",
    }


@pytest.mark.slow  # a pytest process per repetition, the cost the shared process saves everywhere else
def test_a_flaky_unittest_method_is_caught_by_its_runs_outside_the_shared_process(
    component: Component, tmp_path: Path
) -> None:
    work_dir = tmp_path / "funnel"
    counter = work_dir / "tree" / "unittest-runs.txt"

    source = UNITTEST_FLAKY.format(counter=str(counter))

    result = _funnel(
        component, work_dir, [_file("test_unit.py", source)], reliability_runs=3, check_policy=False
    )

    assert _runs(work_dir) == [
        "collect-pass",
        "reliability",
        "reliability-unrepeated-2",
        "reliability-unrepeated-3",
    ]
    assert int(counter.read_text()) == 1 + 3
    (rejection,) = result.rejections
    assert rejection.stage == "reliable"
    assert rejection.test is not None and rejection.test.endswith("::TestSafeDiv::test_divides")
    assert rejection.reason.startswith("flaky: failed 1 of 3 random-order repetitions (failed: ")
    assert result.tests_accepted == 0
