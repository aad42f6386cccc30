"""Tasks for the test generator: one per module with coverage gaps, carrying what the spec promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.generation.tasks import build_tasks, import_name
from spec2prod_assets.mutation import SurvivingMutant
from spec2prod_assets.testing import pytest_run as test_runner
from tests.support.gap_component import SLUG, gap_layout, gap_spec, run_baseline, write_gap_component


@pytest.fixture(scope="module")
def baseline_and_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[test_runner.TestRun, Path]:
    """`ops.py` partly covered, `words.py` never imported, `__init__.py` fully covered."""
    base = tmp_path_factory.mktemp("tasks")
    tree = write_gap_component(base / "tree", with_words=True)
    return run_baseline(tree, base / "baseline"), tree


def _missing(baseline: test_runner.TestRun, module: str) -> tuple[int, ...]:
    assert baseline.coverage is not None
    (found,) = [m for m in baseline.coverage.modules if m.path == module]
    return found.missing_lines


def test_one_task_per_module_with_missing_lines_and_none_for_fully_covered_ones(
    baseline_and_tree: tuple[test_runner.TestRun, Path],
) -> None:
    baseline, tree = baseline_and_tree
    assert _missing(baseline, f"src/{SLUG}/__init__.py") == ()

    tasks = build_tasks(gap_spec(), gap_layout(), baseline, tree)

    assert [t.module for t in tasks] == [f"src/{SLUG}/ops.py", f"src/{SLUG}/words.py"]
    assert [t.import_name for t in tasks] == [f"{SLUG}.ops", f"{SLUG}.words"]
    assert [t.task_id for t in tasks] == [f"{SLUG}-{SLUG}-ops", f"{SLUG}-{SLUG}-words"]
    assert len({t.task_id for t in tasks}) == len(tasks)
    for task in tasks:
        assert task.component == SLUG
        assert task.workspace_dir == str(tree)
        assert (task.source_path, task.tests_path) == (f"src/{SLUG}", f"tests/{SLUG}")
        assert task.uncovered_lines == _missing(baseline, task.module)
        assert task.uncovered_lines


def test_task_text_carries_requirements_acceptance_criteria_and_uncovered_lines(
    baseline_and_tree: tuple[test_runner.TestRun, Path],
) -> None:
    baseline, tree = baseline_and_tree
    spec = gap_spec()

    ops_task = build_tasks(spec, gap_layout(), baseline, tree)[0]

    text = ops_task.instructions
    for requirement in spec.requirements:
        assert requirement.id in text and requirement.text in text
    for criterion in spec.acceptance_criteria:
        assert criterion.id in text and criterion.text in text
    assert ", ".join(map(str, _missing(baseline, f"src/{SLUG}/ops.py"))) in text
    assert f"`{SLUG}.ops`" in text
    assert f"tests/{SLUG}/" in text  # where new test files must go
    assert '@pytest.mark.spec("AC-2")' in text  # how a test claims the criteria it checks


def test_baseline_without_coverage_gives_no_tasks(
    baseline_and_tree: tuple[test_runner.TestRun, Path],
) -> None:
    baseline, tree = baseline_and_tree

    assert build_tasks(gap_spec(), gap_layout(), baseline.model_copy(update={"coverage": None}), tree) == []


def test_a_package_init_with_missing_lines_is_tasked_under_the_package_name(tmp_path: Path) -> None:
    tree = write_gap_component(tmp_path / "tree")
    (tree / f"src/{SLUG}/__init__.py").write_text("def unused(x):\n    return x * 2\n")
    baseline = run_baseline(tree, tmp_path / "baseline")

    tasks = build_tasks(gap_spec(), gap_layout(), baseline, tree)

    assert {t.module: t.import_name for t in tasks} == {
        f"src/{SLUG}/__init__.py": SLUG,
        f"src/{SLUG}/ops.py": f"{SLUG}.ops",
    }


@pytest.mark.parametrize(
    ("module_path", "root", "expected"),
    [
        ("src/calc/ops.py", "src", "calc.ops"),
        ("src/calc/__init__.py", "src", "calc"),
        ("src/calc/sub/deep.py", "src", "calc.sub.deep"),
        ("src/calc/sub/__init__.py", "src", "calc.sub"),
        ("calc/ops.py", ".", "calc.ops"),
        ("lib/python/calc/ops.py", "lib/python", "calc.ops"),
    ],
)
def test_import_names_of_modules_and_packages(module_path: str, root: str, expected: str) -> None:
    assert import_name(module_path, root) == expected


def test_surviving_mutants_are_named_in_their_modules_task_even_when_it_is_fully_covered(
    baseline_and_tree: tuple[test_runner.TestRun, Path],
) -> None:
    """The ACH idea: a module every line of which runs can still have tests that notice nothing."""
    baseline, tree = baseline_and_tree
    init, ops = f"src/{SLUG}/__init__.py", f"src/{SLUG}/ops.py"
    survivors = (
        SurvivingMutant(name=f"{SLUG}.x_f__mutmut_1", file=init, line=3, change="return 1 → return 2"),
        SurvivingMutant(name=f"{SLUG}.ops.x_sign__mutmut_2", file=ops, line=6, change="x > 0 → x >= 0"),
    )

    tasks = {t.module: t for t in build_tasks(gap_spec(), gap_layout(), baseline, tree, survivors)}

    assert set(tasks) == {init, ops, f"src/{SLUG}/words.py"}
    assert tasks[init].uncovered_lines == ()
    assert "line 3: `return 1 → return 2`" in tasks[init].instructions
    assert "not executed by any existing test" not in tasks[init].instructions
    assert "line 6: `x > 0 → x >= 0`" in tasks[ops].instructions
    assert "surviving mutants" in tasks[ops].instructions
    assert "line 3:" not in tasks[ops].instructions  # each task names its own module's mutants only
    assert "surviving mutants" not in tasks[f"src/{SLUG}/words.py"].instructions
