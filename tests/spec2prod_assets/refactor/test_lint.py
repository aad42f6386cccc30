"""ruff as spec2prod runs it: violations by rule, complexity and size measured by hand; safe fixes
applied to a copy clear the bundled example's lint debt; a project's own ruff config decides the rules and
the format, one outside the tree never does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from spec2prod_assets.refactor.lint import LINE_LENGTH, RuffConfigError, format_and_fix, lint_report
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


# 110 characters: too long for spec2prod's 100, fine under a project's 120.
_WIDE_LINE = "WIDE = [" + ", ".join(f'"item{i:02d}"' for i in range(10)) + ", 1]\n"
# ERA001 (commented-out code) is a rule spec2prod's defaults do not select; F401 is one they do.
_OWN_RULES = '[lint]\nselect = ["ERA001"]\n'
_ERA_AND_F401 = '"""Mixed."""\n\nimport os\n\n# x = 1\n' + _WIDE_LINE


def test_a_project_ruff_toml_decides_which_rules_count(tmp_path: Path) -> None:
    tree = write_files(tmp_path / "tree", {"ruff.toml": _OWN_RULES, f"{SOURCE_PATH}/mod.py": _ERA_AND_F401})
    report = lint_report(tree, SOURCE_PATH)
    assert (report.by_rule, report.config) == ({"ERA001": 1}, "ruff.toml")


def test_a_project_without_ruff_config_gets_spec2prods_defaults(tmp_path: Path) -> None:
    tree = write_files(tmp_path / "tree", {f"{SOURCE_PATH}/mod.py": _ERA_AND_F401})
    report = lint_report(tree, SOURCE_PATH)
    assert (report.by_rule, report.config) == ({"E501": 1, "F401": 1}, None)


def test_formatting_with_the_project_line_length_keeps_its_120_wide_lines(tmp_path: Path) -> None:
    config = "line-length = 120\n" + _OWN_RULES
    tree = write_files(tmp_path / "tree", {"ruff.toml": config, f"{SOURCE_PATH}/mod.py": _WIDE_LINE})
    format_and_fix(tree, SOURCE_PATH)
    assert (tree / SOURCE_PATH / "mod.py").read_text(encoding="utf-8") == _WIDE_LINE


def test_formatting_without_project_config_wraps_at_spec2prods_line_length(tmp_path: Path) -> None:
    tree = write_files(tmp_path / "tree", {f"{SOURCE_PATH}/mod.py": _WIDE_LINE})
    format_and_fix(tree, SOURCE_PATH)
    formatted = (tree / SOURCE_PATH / "mod.py").read_text(encoding="utf-8")
    assert max(len(line) for line in formatted.splitlines()) <= int(LINE_LENGTH)


def test_a_pyproject_with_a_tool_ruff_table_is_the_project_config(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "shapes"\n\n[tool.ruff]\nline-length = 120\n\n[tool.ruff.lint]\n'
    pyproject += 'select = ["ERA001"]\n'
    tree = write_files(
        tmp_path / "tree", {"pyproject.toml": pyproject, f"{SOURCE_PATH}/mod.py": _ERA_AND_F401}
    )
    report = lint_report(tree, SOURCE_PATH)
    assert (report.by_rule, report.config) == ({"ERA001": 1}, "pyproject.toml")


def test_a_pyproject_without_a_tool_ruff_table_leaves_the_defaults(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "shapes"\n'
    tree = write_files(
        tmp_path / "tree", {"pyproject.toml": pyproject, f"{SOURCE_PATH}/mod.py": _ERA_AND_F401}
    )
    assert lint_report(tree, SOURCE_PATH).config is None


def test_a_ruff_config_in_a_folder_above_the_tree_is_ignored(tmp_path: Path) -> None:
    # Read by ruff, the first would turn the counts into ERA001's; the second would stop ruff altogether.
    write_files(tmp_path, {"ruff.toml": _OWN_RULES, "work/.ruff.toml": "line-lenght = 120\n"})
    tree = write_files(tmp_path / "work" / "tree", {f"{SOURCE_PATH}/mod.py": _ERA_AND_F401})

    report = lint_report(tree, SOURCE_PATH)
    format_and_fix(tree, SOURCE_PATH)

    assert (report.by_rule, report.config) == ({"E501": 1, "F401": 1}, None)
    assert "import os" not in (tree / SOURCE_PATH / "mod.py").read_text(encoding="utf-8")


def test_a_ruff_config_ruff_refuses_is_one_line_naming_the_file(tmp_path: Path) -> None:
    tree = write_files(
        tmp_path / "tree", {"ruff.toml": "line-lenght = 120\n", f"{SOURCE_PATH}/mod.py": _CLEAN}
    )
    with pytest.raises(RuffConfigError) as refused:
        lint_report(tree, SOURCE_PATH)
    message = str(refused.value)
    assert message.startswith("ruff refuses the project's ruff config ruff.toml: ")
    assert "unknown field `line-lenght`" in message
    assert "\n" not in message and str(tmp_path) not in message


def test_a_pyproject_that_is_not_toml_is_one_line_naming_the_file(tmp_path: Path) -> None:
    tree = write_files(tmp_path / "tree", {"pyproject.toml": "[tool.ruff\n", f"{SOURCE_PATH}/mod.py": _CLEAN})
    with pytest.raises(RuffConfigError, match=r"^pyproject.toml is not valid TOML: [^\n]+$"):
        lint_report(tree, SOURCE_PATH)


def test_complexity_counts_every_function_whatever_the_project_ignores(tmp_path: Path) -> None:
    config = '[lint]\nselect = ["C901"]\nignore = ["C901"]\n[lint.per-file-ignores]\n"src/*" = ["C901"]\n'
    silenced = _DEBT.replace("def branchy(x, seen=[]):", "def branchy(x, seen=[]):  # noqa: C901")
    tree = write_files(tmp_path / "tree", {"ruff.toml": config, f"{SOURCE_PATH}/debt.py": silenced})
    report = lint_report(tree, SOURCE_PATH)
    assert (report.violations, report.complexity) == (0, 4)


def test_format_and_fix_applies_no_unsafe_fix_even_when_the_project_config_allows_them(
    tmp_path: Path,
) -> None:
    config = 'unsafe-fixes = true\n[lint]\nselect = ["E711", "F401"]\n'
    tree = write_files(tmp_path / "tree", {"ruff.toml": config, f"{SOURCE_PATH}/debt.py": _DEBT})
    format_and_fix(tree, SOURCE_PATH)
    fixed = (tree / SOURCE_PATH / "debt.py").read_text(encoding="utf-8")
    assert "import os" not in fixed and "x == None" in fixed


def test_files_the_project_config_excludes_are_not_counted(tmp_path: Path) -> None:
    config = 'extend-exclude = ["src/shapes/vendored.py"]\n' + _OWN_RULES
    files = {
        "ruff.toml": config,
        f"{SOURCE_PATH}/mod.py": _ERA_AND_F401,
        f"{SOURCE_PATH}/vendored.py": _ERA_AND_F401,
    }
    assert lint_report(write_files(tmp_path / "tree", files), SOURCE_PATH).violations == 1


def test_the_config_nearest_the_target_wins_as_it_does_for_ruff(tmp_path: Path) -> None:
    files = {
        "ruff.toml": "line-lenght = 120\n",
        "src/ruff.toml": _OWN_RULES,
        f"{SOURCE_PATH}/mod.py": _ERA_AND_F401,
    }
    report = lint_report(write_files(tmp_path / "tree", files), SOURCE_PATH)
    assert (report.by_rule, report.config) == ({"ERA001": 1}, "src/ruff.toml")


def test_measuring_with_a_project_config_leaves_the_tree_as_it_was(tmp_path: Path) -> None:
    tree = write_files(tmp_path / "tree", {"ruff.toml": _OWN_RULES, f"{SOURCE_PATH}/mod.py": _ERA_AND_F401})
    before = tree_digest(tree)
    lint_report(tree, SOURCE_PATH)
    assert tree_digest(tree) == before
