"""Real mutmut runs crediting mutants to the single tests that kill them: the funnel's second chance."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.mutation import Kills, MutationReport, kills_by_test, run_mutation
from tests.conftest import write_files
from tests.support.layouts import layout_of

SOURCE_PATH = "src/tally"
_MODULE = "def add(a, b):\n    return a + b\n\n\ndef is_small(n):\n    return n < 10\n"
# Both functions run, but nothing checks the boundary of `is_small`: `n <= 10` and `n < 11` survive.
_BASELINE = (
    "from tally.ops import add, is_small\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_small():\n    assert is_small(3)\n"
)
_CANDIDATES = (
    "from tally.ops import is_small\n\n\ndef test_repeat():\n    assert is_small(4)\n\n\n"
    "def test_edge():\n    assert not is_small(10)\n\n\ndef test_edge_again():\n    assert not is_small(10)\n"
)
_TESTS = [f"tests/test_gen.py::{name}" for name in ("test_repeat", "test_edge", "test_edge_again")]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, MutationReport]:
    base = tmp_path_factory.mktemp("kills")
    tree = write_files(
        base / "tree",
        {f"{SOURCE_PATH}/__init__.py": "", f"{SOURCE_PATH}/ops.py": _MODULE, "tests/test_ops.py": _BASELINE},
    )
    report = run_mutation(tree, layout_of(SOURCE_PATH), work_dir=base / "mutation", budget_s=60)
    (tree / "tests/test_gen.py").write_text(_CANDIDATES, encoding="utf-8")
    return tree, report


def _kills(tree: Path, targets: list[str], work_dir: Path, budget_s: float) -> Kills:
    return kills_by_test(
        tree, layout_of(SOURCE_PATH), tests=_TESTS, targets=targets, work_dir=work_dir, budget_s=budget_s
    )


def test_the_first_test_that_kills_a_survivor_is_credited_and_a_repeat_is_not(
    baseline: tuple[Path, MutationReport], tmp_path: Path
) -> None:
    tree, report = baseline
    targets = [m.name for m in report.survivors]
    assert len(targets) == 2, report.survivors

    kills = _kills(tree, targets, tmp_path / "k", budget_s=90)

    assert kills.by_test == {"tests/test_gen.py::test_edge": tuple(sorted(targets))}
    assert kills.unchecked == ()


def test_a_target_the_source_does_not_have_is_ignored(
    baseline: tuple[Path, MutationReport], tmp_path: Path
) -> None:
    kills = _kills(baseline[0], ["tally.ops.x_gone__mutmut_1"], tmp_path / "k", budget_s=60)
    assert kills.by_test == {} and kills.unchecked == ()


def test_a_spent_budget_leaves_the_tests_unchecked_rather_than_cleared(
    baseline: tuple[Path, MutationReport], tmp_path: Path
) -> None:
    tree, report = baseline
    # Mutant generation alone takes longer than this budget.
    kills = _kills(tree, [m.name for m in report.survivors], tmp_path / "k", budget_s=0.5)
    assert kills.by_test == {}
    assert kills.unchecked == tuple(_TESTS)
