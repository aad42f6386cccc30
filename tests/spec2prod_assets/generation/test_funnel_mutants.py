"""The funnel's second chance, on a tiny real component with real mutmut: a generated test that covers
nothing new is kept when it kills a mutant the component's own tests let survive, and says so."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from spec2prod_assets.generation.funnel import FunnelResult, run_funnel
from spec2prod_assets.generation.protocol import GeneratedFile
from spec2prod_assets.mutation import MutationReport, run_mutation
from spec2prod_assets.testing import pytest_run as test_runner
from tests.support.gap_component import (
    SLUG,
    TIMEOUT_S,
    component_tests,
    gap_layout,
    run_baseline,
    write_gap_component,
)

# The baseline checks `sign(4) == 1`: `if x > 0` mutated to `if x > 1` survives it. Both tests below run
# exactly the lines and branches that baseline test runs; only the first one notices that mutant.
NO_NEW_COVERAGE = dedent(
    """\
    from mathy.ops import sign


    def test_sign_of_one_is_positive():
        assert sign(1) == 1


    def test_sign_of_seven_is_positive():
        assert sign(7) == 1
    """
)
KILLER = f"{component_tests()}/test_gen_{SLUG}_ops_01.py::test_sign_of_one_is_positive"
BYSTANDER = f"{component_tests()}/test_gen_{SLUG}_ops_01.py::test_sign_of_seven_is_positive"
Component = tuple[Path, test_runner.TestRun, MutationReport]


@pytest.fixture(scope="module")
def component(tmp_path_factory: pytest.TempPathFactory) -> Component:
    base = tmp_path_factory.mktemp("component")
    tree = write_gap_component(base / "tree")
    mutation = run_mutation(tree, gap_layout(), work_dir=base / "mutation", budget_s=60)
    assert any(m.change == "if x > 0: → if x > 1:" for m in mutation.survivors), mutation.survivors
    return tree, run_baseline(tree, base / "baseline"), mutation


def _funnel(component: Component, work_dir: Path, mutation_budget_s: float) -> FunnelResult:
    tree, baseline, mutation = component
    return run_funnel(
        tree,
        gap_layout(),
        slug=SLUG,
        baseline=baseline,
        generated=[GeneratedFile(path=f"{component_tests()}/test_ops.py", content=NO_NEW_COVERAGE)],
        refused_paths=[],
        work_dir=work_dir,
        timeout_s=TIMEOUT_S,
        reliability_runs=1,
        survivors=mutation.survivors,
        mutation_budget_s=mutation_budget_s,
    )


@pytest.fixture(scope="module")
def funnelled(component: Component, tmp_path_factory: pytest.TempPathFactory) -> FunnelResult:
    return _funnel(component, tmp_path_factory.mktemp("funnel"), mutation_budget_s=90)


def test_a_test_without_new_coverage_that_kills_a_surviving_mutant_is_accepted_with_that_reason(
    funnelled: FunnelResult,
) -> None:
    assert funnelled.accepted_tests == (KILLER,)
    assert funnelled.coverage_after_pct == funnelled.coverage_before_pct  # it was kept for the kill
    [acceptance] = funnelled.acceptances
    assert acceptance.test == KILLER
    assert acceptance.reason.startswith("adds no coverage but kills 1 mutant the existing tests let survive")
    assert f"src/{SLUG}/ops.py:6 if x > 0: → if x > 1:" in acceptance.reason
    assert funnelled.tests_killing_mutants == 1
    accepted = Path(funnelled.accepted_dir, funnelled.accepted_files[0]).read_text(encoding="utf-8")
    assert "test_sign_of_one_is_positive" in accepted and "test_sign_of_seven" not in accepted


def test_a_test_without_new_coverage_that_kills_nothing_is_rejected_saying_both(
    funnelled: FunnelResult,
) -> None:
    [rejection] = funnelled.rejections
    assert (rejection.test, rejection.stage) == (BYSTANDER, "coverage")
    assert "adds no line or branch coverage" in rejection.reason
    assert "kills none of the mutants the existing tests let survive" in rejection.reason
    assert funnelled.mutant_check.startswith("2 tests without new coverage checked against")


def test_with_mutation_testing_off_coverage_alone_decides_and_the_reason_says_so(
    component: Component, tmp_path: Path
) -> None:
    result = _funnel(component, tmp_path / "funnel", mutation_budget_s=0)
    assert result.accepted_tests == ()
    assert {r.test for r in result.rejections} == {KILLER, BYSTANDER}
    assert all("(no mutant check: mutation testing is off)" in r.reason for r in result.rejections)
