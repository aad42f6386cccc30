"""Real mutmut runs, sandboxed, on a tiny component: the score, the survivors, the budget, the copy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from spec2prod_assets.mutation import MutationReport, run_mutation
from tests.conftest import write_files
from tests.support.layouts import layout_of

SOURCE_PATH = "src/tally"
_MODULE = """\
def add(a, b):
    return a + b


def is_small(n):
    return n < 10
"""
_WEAK = "from tally.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
_STRONG = _WEAK + (
    "\n\ndef test_is_small():\n    from tally.ops import is_small\n\n"
    "    assert is_small(9)\n    assert not is_small(10)\n"
)
_MANY = "\n\n".join(f"def f{i}(a, b):\n    return a + b - {i}" for i in range(40)) + "\n"


def _tree(root: Path, tests: str, module: str = _MODULE) -> Path:
    files = {f"{SOURCE_PATH}/__init__.py": "", f"{SOURCE_PATH}/ops.py": module, "tests/test_ops.py": tests}
    return write_files(root, files)


def _digest(tree: Path) -> str:
    return hashlib.sha256(
        b"".join(p.as_posix().encode() + p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file())
    ).hexdigest()


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, MutationReport]:
    base = tmp_path_factory.mktemp("weak")
    tree = _tree(base / "tree", _WEAK)
    before = _digest(tree)
    report = run_mutation(tree, layout_of(SOURCE_PATH), work_dir=base / "work", budget_s=60, seed=1)
    return tree, before, report


@pytest.fixture(scope="module")
def strong(tmp_path_factory: pytest.TempPathFactory) -> MutationReport:
    base = tmp_path_factory.mktemp("strong")
    tree = _tree(base / "tree", _STRONG)
    return run_mutation(tree, layout_of(SOURCE_PATH), work_dir=base / "work", budget_s=60, seed=1)


def test_the_score_is_killed_out_of_run(weak: tuple[Path, str, MutationReport]) -> None:
    report = weak[2]
    assert report.mutants_run == report.mutants_total > 0
    assert report.mutants_killed + report.mutants_survived + report.mutants_timed_out == report.mutants_run
    assert report.mutation_score_pct == round(report.mutants_killed / report.mutants_run * 100, 2)
    assert not report.sampled and report.sample_reason == ""


def test_a_test_that_kills_the_surviving_mutants_raises_the_score(
    weak: tuple[Path, str, MutationReport], strong: MutationReport
) -> None:
    assert strong.mutants_total == weak[2].mutants_total
    assert strong.mutants_killed > weak[2].mutants_killed
    assert (strong.mutation_score_pct or 0) > (weak[2].mutation_score_pct or 0)


def test_survivors_name_file_line_and_change(weak: tuple[Path, str, MutationReport]) -> None:
    survivors = {(s.file, s.line, s.change) for s in weak[2].survivors}
    assert ("src/tally/ops.py", 6, "return n < 10 → return n <= 10") in survivors
    assert all(s.line == 6 for s in weak[2].survivors)  # add's mutant is killed by test_add
    assert all(s.name.startswith("tally.ops.x_is_small__mutmut_") for s in weak[2].survivors)


def test_the_original_tree_is_untouched(weak: tuple[Path, str, MutationReport]) -> None:
    tree, before, _ = weak
    assert _digest(tree) == before
    assert not (tree / "mutants").exists()


def test_a_tiny_budget_samples_and_says_so(tmp_path: Path) -> None:
    tree = _tree(
        tmp_path / "tree", "from tally.ops import f0\n\n\ndef test_f0():\n    assert f0(1, 1) == 2\n", _MANY
    )
    report = run_mutation(
        tree, layout_of(SOURCE_PATH), work_dir=tmp_path / "work", budget_s=6, seed=3, mutant_timeout_s=5
    )
    assert report.sampled
    assert "budget" in report.sample_reason
    assert report.mutants_run < report.mutants_total
    assert len(report.sample) == report.mutants_run  # what a second suite is run on, to compare
    assert report.duration_s < 6 + 5 + 5  # budget, one mutant's timeout, slack for a slow machine


def test_nothing_run_has_no_score() -> None:
    report = MutationReport(
        tool="mutmut",
        mutants_total=3,
        mutants_run=0,
        mutants_killed=0,
        mutants_survived=0,
        mutants_timed_out=0,
        sampled=True,
        sample_reason="budget",
        duration_s=1.0,
        survivors=(),
    )
    assert report.mutation_score_pct is None


def test_a_run_limited_to_another_runs_sample_runs_exactly_those_mutants(
    weak: tuple[Path, str, MutationReport], tmp_path: Path
) -> None:
    """How the release suite is measured on the mutants a sampled baseline run chose."""
    tree, _, full = weak
    chosen = [*sorted(m.name for m in full.survivors)[:1], "tally.ops.x_refactored_away__mutmut_1"]

    report = run_mutation(tree, layout_of(SOURCE_PATH), work_dir=tmp_path / "work", budget_s=60, only=chosen)

    assert report.mutants_total == report.mutants_run == 1
    assert [m.name for m in report.survivors] == chosen[:1]
    assert f"limited to 1 of {full.mutants_total} mutants" in report.sample_reason


def test_a_strict_markers_project_with_tests_that_claim_spec_ids_is_mutated(tmp_path: Path) -> None:
    """mutmut runs the project's pytest configuration; the `spec` marker is registered for it."""
    claimed = "import pytest\n\n" + _STRONG.replace(
        "def test_is_small", '@pytest.mark.spec("AC-1")\ndef test_is_small'
    )
    tree = _tree(tmp_path / "tree", claimed)
    (tree / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "--strict-markers"\n')
    layout = layout_of(SOURCE_PATH, config_files=["pyproject.toml"], pytest_config="pyproject.toml")

    report = run_mutation(tree, layout, work_dir=tmp_path / "work", budget_s=60)

    assert report.mutants_run == report.mutants_total > 0
    assert report.mutants_survived == 0


def test_a_report_restricted_to_fewer_mutants_recounts_them(weak: tuple[Path, str, MutationReport]) -> None:
    """How the baseline compares with a release suite that reached fewer of its mutants in budget."""
    full = weak[2]
    survivor = full.survivors[0].name
    killed = next(name for name, outcome in full.outcomes.items() if outcome == "killed")

    part = full.restricted_to({survivor, killed}, "compared on 2")

    assert (part.mutants_run, part.mutants_killed, part.mutants_survived) == (2, 1, 1)
    assert part.mutation_score_pct == 50.0
    assert [s.name for s in part.survivors] == [survivor]
    assert part.sampled and part.sample_reason == "compared on 2"
    assert part.mutants_total == full.mutants_total
