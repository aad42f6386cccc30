"""ruff as spec2prod runs it: violations by rule, complexity and size measured by hand; safe fixes
applied to a copy clear the bundled example's lint debt."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from spec2prod_assets.refactor.lint import LINE_LENGTH, format_and_fix, lint_report
from spec2prod_assets.runtime.processes import run_command
from tests.conftest import DEMO_SOURCE, tree_digest, write_files

SOURCE_PATH = "src/shapes"

# Known debt: two unused imports (F401), `== None` (E711), a mutable default (B006).
# Complexity (mccabe): straight 1 + branchy 3 (if, elif) = 4.
# Lines of code, blanks and comments left out: docstring, 2 imports, 2 + 5 lines of functions = 11.
_DEBT = '''\
"""Module with known lint debt."""
import os
import sys


def straight(x):
    # a comment line
    return x


def branchy(x, seen=[]):
    if x == None:
        return 0
    elif x > 10:
        return 2
    return 1
'''
_CLEAN = '''\
"""Nothing to report."""


def double(x):
    return x * 2
'''


def _format_is_clean(tree: Path, target: str) -> bool:
    check = [sys.executable, "-m", "ruff", "format", "--isolated", "--line-length", LINE_LENGTH, "--check"]
    return run_command([*check, target], cwd=tree, timeout_s=60).ok


@pytest.fixture
def debt_tree(tmp_path: Path) -> Path:
    return write_files(tmp_path / "tree", {f"{SOURCE_PATH}/__init__.py": "", f"{SOURCE_PATH}/debt.py": _DEBT})


def test_lint_report_counts_violations_by_rule(debt_tree: Path) -> None:
    report = lint_report(debt_tree, SOURCE_PATH)
    assert report.by_rule == {"B006": 1, "E711": 1, "F401": 2}
    assert report.violations == 4


def test_lint_report_sums_cyclomatic_complexity(debt_tree: Path) -> None:
    assert lint_report(debt_tree, SOURCE_PATH).complexity == 4


def test_lint_report_counts_lines_of_code_without_blanks_or_comments(debt_tree: Path) -> None:
    assert lint_report(debt_tree, SOURCE_PATH).lines_of_code == 11


def test_a_clean_module_has_no_violations(tmp_path: Path) -> None:
    tree = write_files(tmp_path / "tree", {f"{SOURCE_PATH}/clean.py": _CLEAN})
    report = lint_report(tree, SOURCE_PATH)
    assert (report.violations, report.by_rule, report.complexity, report.lines_of_code) == (0, {}, 1, 3)


def test_measuring_leaves_the_tree_as_it_was(debt_tree: Path) -> None:
    before = tree_digest(debt_tree)
    lint_report(debt_tree, SOURCE_PATH)
    assert tree_digest(debt_tree) == before


def test_format_and_fix_keeps_fixes_that_are_unsafe_out(debt_tree: Path) -> None:
    format_and_fix(debt_tree, SOURCE_PATH)
    fixed = (debt_tree / SOURCE_PATH / "debt.py").read_text(encoding="utf-8")
    assert "import os" not in fixed
    assert "x == None" in fixed, "E711's fix is unsafe and must not be applied"
    assert lint_report(debt_tree, SOURCE_PATH).by_rule == {"B006": 1, "E711": 1}


@pytest.mark.parametrize("component", ["calculator", "text_stats"])
def test_format_and_fix_clears_the_example_debt_on_a_copy(demo_project: Path, component: str) -> None:
    target = f"src/{component}"
    example_before = tree_digest(DEMO_SOURCE / "src")
    assert lint_report(demo_project, target).violations > 0
    assert not _format_is_clean(demo_project, target)

    format_and_fix(demo_project, target)

    assert lint_report(demo_project, target).violations == 0
    assert _format_is_clean(demo_project, target)
    assert tree_digest(DEMO_SOURCE / "src") == example_before


def test_format_and_fix_leaves_formatted_code_when_a_fix_removes_the_first_line(tmp_path: Path) -> None:
    tree = write_files(
        tmp_path / "tree", {f"{SOURCE_PATH}/mod.py": "import os\n\n\ndef f(x):\n    return x\n"}
    )
    format_and_fix(tree, SOURCE_PATH)
    assert _format_is_clean(tree, SOURCE_PATH)
