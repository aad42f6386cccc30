"""The refactor guard on real components: kept when only formatting and safe fixes happened, thrown away
as a unit when a test outcome or the public API moves, and never a write to the original tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.refactor.refactoring import RefactorResult, refactor_component
from spec2prod_assets.testing import pytest_run as runner
from tests.conftest import tree_digest, write_files
from tests.support.layouts import layout_of

SOURCE_PATH = "src/shapes"
TESTS_PATH = "tests"
AREA = f"{SOURCE_PATH}/area.py"
INIT = f"{SOURCE_PATH}/__init__.py"
UNITS = f"{SOURCE_PATH}/units.py"

_UNITS_CLEAN = '"""Units."""\n\nMETRE = "m"\n'
_AREA_WITH_DEBT = '''\
"""Areas."""
import os
from typing import List


def square(side):
    return side*side


def rectangle(width, height):
    return width*height


def sides(count: int) -> List[int]:
    return [1]*count
'''
_INIT_UNSORTED = '''\
"""Shapes."""
from shapes.area import square, rectangle, sides

__all__ = ["square", "rectangle", "sides"]
'''
_TESTS = """\
from shapes import rectangle, square


def test_square():
    assert square(3) == 9


def test_rectangle():
    assert rectangle(2, 3) == 6
"""


class Refactored:
    """One refactor of a tree, with the original's digest taken before and after."""

    def __init__(self, tmp_path: Path, files: dict[str, str]) -> None:
        self.original = write_files(tmp_path / "original", files)
        self.work_dir = tmp_path / "work"
        layout = layout_of(SOURCE_PATH, TESTS_PATH)
        self.baseline = runner.run_tests(
            self.original, layout, output_dir=tmp_path / "baseline", timeout_s=60
        )
        self.digest_before = tree_digest(self.original)
        self.result: RefactorResult = refactor_component(
            self.original,
            layout,
            baseline=self.baseline,
            work_dir=self.work_dir,
            timeout_s=60,
        )
        self.digest_after = tree_digest(self.original)

    @property
    def patch(self) -> str:
        return Path(self.result.patch_path).read_text(encoding="utf-8")


def _component(**overrides: str) -> dict[str, str]:
    files = {INIT: _INIT_UNSORTED, AREA: _AREA_WITH_DEBT, UNITS: _UNITS_CLEAN, "tests/test_area.py": _TESTS}
    return {**files, **overrides}


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Refactored:
    return Refactored(tmp_path_factory.mktemp("kept"), _component())


def test_formatting_and_safe_fixes_are_kept(kept: Refactored) -> None:
    result = kept.result
    assert result.kept, result.reason
    assert result.reason.startswith("kept")
    assert (result.api_changes, result.outcome_changes) == ((), ())
    assert result.tree_path == str(kept.work_dir / "refactored")
    refactored = (kept.work_dir / "refactored" / AREA).read_text(encoding="utf-8")
    assert "return side * side" in refactored
    assert "import os" not in refactored
    assert "-> list[int]" in refactored


def test_a_kept_refactor_lowers_the_violations(kept: Refactored) -> None:
    assert kept.result.lint_before.violations > 0
    assert kept.result.lint_after.violations == 0
    assert (kept.result.tests_passed, kept.result.tests_failed) == (2, 0)


def test_the_patch_lists_exactly_the_changed_files(kept: Refactored) -> None:
    assert kept.result.files_changed == 2
    assert f"--- a/{AREA}" in kept.patch and f"+++ b/{AREA}" in kept.patch
    assert f"--- a/{INIT}" in kept.patch and f"+++ b/{INIT}" in kept.patch
    assert UNITS not in kept.patch


def test_a_kept_refactor_leaves_the_original_tree_unmodified(kept: Refactored) -> None:
    assert kept.digest_after == kept.digest_before


def test_a_test_pinned_to_the_source_text_discards_the_refactor(tmp_path: Path) -> None:
    pinned = (
        "import inspect\n\nfrom shapes import area\n\n\n"
        "def test_square_source_is_pinned():\n"
        '    assert inspect.getsource(area.square) == "def square(side):\\n    return side*side\\n"\n'
    )
    run = Refactored(tmp_path, _component(**{"tests/test_pinned.py": pinned}))
    result = run.result
    assert not result.kept
    assert "test outcomes changed" in result.reason
    assert result.outcome_changes == ("tests/test_pinned.py::test_square_source_is_pinned: passed -> failed",)
    _assert_discarded_as_a_unit(run)


def test_an_unused_looking_import_used_through_the_module_discards_the_refactor(tmp_path: Path) -> None:
    through_module = (
        "import os\n\nfrom shapes import area\n\n\n"
        "def test_area_module_exposes_os():\n    assert area.os.sep == os.sep\n"
    )
    run = Refactored(tmp_path, _component(**{"tests/test_module_os.py": through_module}))
    assert not run.result.kept
    assert run.result.outcome_changes == (
        "tests/test_module_os.py::test_area_module_exposes_os: passed -> failed",
    )
    _assert_discarded_as_a_unit(run)


def test_a_safe_fix_that_rewrites_a_default_discards_the_refactor(tmp_path: Path) -> None:
    # UP018 (a safe fix) rewrites `str("hello")` as `"hello"`: same value, another signature text.
    greet = 'def greet(name, greeting=str("hello")):\n    return f"{greeting}, {name}"\n'
    run = Refactored(tmp_path, _component(**{f"{SOURCE_PATH}/greet.py": greet}))
    result = run.result
    assert not result.kept
    assert "public API changed" in result.reason
    assert result.api_changes == (
        f"changed {SOURCE_PATH}/greet.py:greet: (name, greeting=str('hello')) -> (name, greeting='hello')",
    )
    assert result.outcome_changes == ()
    _assert_discarded_as_a_unit(run)


def test_unused_looking_re_exports_in_init_are_not_removed_so_the_api_holds(tmp_path: Path) -> None:
    # F401 flags `from ... import` in an `__init__.py` without `__all__`, but its fix there is not a safe
    # one: the re-export survives `ruff check --fix` and the refactor is kept.
    init = '"""Shapes."""\nfrom shapes.area import square, rectangle\nimport shapes.units\n'
    run = Refactored(tmp_path, _component(**{INIT: init}))
    assert run.result.kept, run.result.reason
    refactored_init = (run.work_dir / "refactored" / INIT).read_text(encoding="utf-8")
    assert "from shapes.area import rectangle, square" in refactored_init
    assert "import shapes.units" in refactored_init


def test_formatting_that_adds_violations_under_the_project_rules_discards_the_refactor(
    tmp_path: Path,
) -> None:
    # The project's formatter writes single quotes while its linter asks for double ones: a clash ruff only
    # warns about. Formatting the code then adds Q000 violations the original did not have.
    clash = '[lint]\nselect = ["Q000"]\n\n[format]\nquote-style = "single"\n'
    run = Refactored(tmp_path, _component(**{"ruff.toml": clash}))
    result = run.result
    assert not result.kept
    assert result.reason.startswith("discarded: lint violations rose from 0 to ")
    assert result.reason.endswith(" under ruff.toml")
    assert (result.api_changes, result.outcome_changes) == ((), ())
    _assert_discarded_as_a_unit(run)


def _assert_discarded_as_a_unit(run: Refactored) -> None:
    """Nothing of a discarded refactor is handed on: the original tree, numbers and all."""
    result = run.result
    assert result.tree_path == str(run.original)
    assert result.files_changed == 0
    assert result.lint_after == result.lint_before
    assert run.digest_after == run.digest_before
