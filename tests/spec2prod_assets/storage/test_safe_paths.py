"""Untrusted paths: the lexical rules, the folder test, and the check on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.storage.safe_paths import (
    PathFault,
    check_relative_path,
    is_inside_folder,
    relative_path_fault,
    resolved_path_problem,
)


@pytest.mark.parametrize(
    ("value", "fault"),
    [
        ("src/calc", None),
        ("src\\calc", None),
        ("./src/calc", None),
        ("/etc/passwd", PathFault.ABSOLUTE),
        ("\\server\\share", PathFault.ABSOLUTE),
        ("C:/temp", PathFault.ABSOLUTE),
        ("c:temp", PathFault.ABSOLUTE),
        ("../outside", PathFault.PARENT),
        ("src/../../outside", PathFault.PARENT),
        ("src\\..\\..\\outside", PathFault.PARENT),
        ("", PathFault.EMPTY),
        (".", PathFault.EMPTY),
        ("./", PathFault.EMPTY),
    ],
)
def test_relative_path_fault_names_the_rule_broken(value: str, fault: PathFault | None) -> None:
    assert relative_path_fault(value) is fault


def test_check_relative_path_returns_the_normalized_posix_path() -> None:
    assert check_relative_path("./src\\calc/") == "src/calc"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/abs", "path '/abs' is absolute; give it relative to the project root"),
        ("a/../..", "path 'a/../..' escapes the project root ('..')"),
        (".", "path is empty"),
    ],
)
def test_check_relative_path_refuses_with_a_message_for_people(value: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        check_relative_path(value)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("path", "inside"),
    [
        ("tests/calc/test_x.py", True),
        ("tests\\calc\\test_x.py", True),
        ("tests/calc/deep/test_x.py", True),
        ("tests/calc", False),
        ("tests/calculator/test_x.py", False),
        ("src/calc/ops.py", False),
        ("tests/test_x.py", False),
    ],
)
def test_is_inside_folder_means_strictly_below_it(path: str, inside: bool) -> None:
    assert is_inside_folder(path, "tests/calc") is inside


def test_resolved_path_problem_is_none_for_an_existing_path_inside(tmp_path: Path) -> None:
    (tmp_path / "src" / "calc").mkdir(parents=True)
    assert resolved_path_problem(tmp_path, "src/calc", what="source path", root_name="the root") is None


def test_resolved_path_problem_names_a_missing_path(tmp_path: Path) -> None:
    problem = resolved_path_problem(tmp_path, "src/none", what="source path", root_name="the project root")
    assert problem == f"source path 'src/none' does not exist under the project root {tmp_path.resolve()}"


def test_resolved_path_problem_follows_symlinks_out_of_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "project", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "src").symlink_to(outside, target_is_directory=True)
    problem = resolved_path_problem(root, "src", what="source path", root_name="the project root")
    assert problem == (
        f"source path 'src' resolves to {outside.resolve()}, outside the project root {root.resolve()}"
    )
