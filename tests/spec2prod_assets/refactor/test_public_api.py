"""The public API guard: what a caller can see changes the API; what only a reader sees does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.refactor.public_api import PublicApiError, api_differences, public_api
from tests.conftest import write_files

SOURCE_PATH = "src/shapes"
MODULE = f"{SOURCE_PATH}/area.py"
PACKAGE = f"{SOURCE_PATH}/__init__.py"


def _api(tree: Path, files: dict[str, str]) -> dict[str, str]:
    return public_api(write_files(tree, files), SOURCE_PATH)


def _changes(tmp_path: Path, before: dict[str, str], after: dict[str, str]) -> list[str]:
    return api_differences(_api(tmp_path / "before", before), _api(tmp_path / "after", after))


def test_a_renamed_parameter_changes_the_api(tmp_path: Path) -> None:
    changes = _changes(
        tmp_path,
        {MODULE: "def rectangle(width, height):\n    return width * height\n"},
        {MODULE: "def rectangle(width, depth):\n    return width * depth\n"},
    )
    assert changes == [f"changed {MODULE}:rectangle: (width, height) -> (width, depth)"]


def test_a_removed_function_changes_the_api(tmp_path: Path) -> None:
    both = "def square(side):\n    return side * side\n\n\ndef cube(side):\n    return side**3\n"
    changes = _changes(tmp_path, {MODULE: both}, {MODULE: "def square(side):\n    return side * side\n"})
    assert changes == [f"removed {MODULE}:cube"]


def test_a_changed_default_changes_the_api(tmp_path: Path) -> None:
    changes = _changes(
        tmp_path,
        {MODULE: "def scale(value, factor=2):\n    return value * factor\n"},
        {MODULE: "def scale(value, factor=3):\n    return value * factor\n"},
    )
    assert changes == [f"changed {MODULE}:scale: (value, factor=2) -> (value, factor=3)"]


def test_a_parameter_made_keyword_only_changes_the_api(tmp_path: Path) -> None:
    changes = _changes(
        tmp_path,
        {MODULE: "def scale(value, factor=2):\n    return value * factor\n"},
        {MODULE: "def scale(value, *, factor=2):\n    return value * factor\n"},
    )
    assert changes == [f"changed {MODULE}:scale: (value, factor=2) -> (value, *, factor=2)"]


def test_annotation_only_changes_leave_the_api_alone(tmp_path: Path) -> None:
    old_style = (
        "from typing import List, Optional\n\n\n"
        "def first(items: List[int], default: Optional[int] = None) -> Optional[int]:\n"
        "    return items[0] if items else default\n"
    )
    new_style = (
        "def first(items: list[int], default: int | None = None) -> int | None:\n"
        "    return items[0] if items else default\n"
    )
    assert _changes(tmp_path, {MODULE: old_style}, {MODULE: new_style}) == []


def test_formatting_only_changes_leave_the_api_alone(tmp_path: Path) -> None:
    changes = _changes(
        tmp_path,
        {MODULE: "def scale(value,factor = 2):\n    return value*factor\n"},
        {MODULE: "def scale(value, factor=2):\n    return value * factor\n"},
    )
    assert changes == []


def test_a_package_init_re_export_is_part_of_the_api(tmp_path: Path) -> None:
    module = {MODULE: "def square(side):\n    return side * side\n"}
    api = _api(tmp_path / "with", {**module, PACKAGE: "from shapes.area import square\n"})
    assert api[f"{PACKAGE}:square"] == "import"
    changes = api_differences(api, _api(tmp_path / "without", {**module, PACKAGE: ""}))
    assert changes == [f"removed {PACKAGE}:square"]


def test_plain_imports_in_a_module_are_not_part_of_the_api(tmp_path: Path) -> None:
    changes = _changes(
        tmp_path,
        {MODULE: "import os\nfrom math import pi\n\n\ndef circle(r):\n    return pi * r * r\n"},
        {MODULE: "from math import pi\n\n\ndef circle(r):\n    return pi * r * r\n"},
    )
    assert changes == []


def test_all_and_public_methods_count_and_private_names_do_not(tmp_path: Path) -> None:
    api = _api(
        tmp_path,
        {
            MODULE: (
                '__all__ = ["Shape"]\n_CACHE = {}\nUNIT = "m"\n\n\n'
                "class Shape:\n"
                "    def __init__(self, sides):\n        self.sides = sides\n\n"
                "    def area(self, unit=UNIT):\n        return 0\n\n"
                "    def _helper(self):\n        return 1\n\n\n"
                "def _private():\n    return 2\n"
            )
        },
    )
    assert api == {
        f"{MODULE}:__all__": "['Shape']",
        f"{MODULE}:UNIT": "variable",
        f"{MODULE}:Shape": "class",
        f"{MODULE}:Shape.__init__": "(self, sides)",
        f"{MODULE}:Shape.area": "(self, unit=UNIT)",
    }


def test_a_module_that_does_not_parse_has_no_readable_api(tmp_path: Path) -> None:
    with pytest.raises(PublicApiError, match=r"area\.py:1"):
        _api(tmp_path, {MODULE: "def broken(:\n    pass\n"})
