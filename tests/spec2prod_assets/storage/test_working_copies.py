"""Working copies: the component copied without caches, its tests folder found, paths made relative."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spec2prod_assets.storage.working_copies import (
    ComponentTreeError,
    LinkOutsideProject,
    copy_component,
    copy_tree,
    existing_test_paths,
    relative_to_tree,
)
from tests.support.gap_component import component_tests, gap_spec, source_dir, write_gap_component


def test_a_copy_keeps_the_layout_and_leaves_caches_behind(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    (project / source_dir() / "__pycache__").mkdir()
    (project / source_dir() / "__pycache__" / "ops.cpython-311.pyc").write_bytes(b"stale")
    (project / "conftest.py").write_text("")
    copy = copy_component(project, gap_spec(), tmp_path / "copy")
    assert (copy / source_dir() / "ops.py").read_text() == (project / source_dir() / "ops.py").read_text()
    assert (copy / component_tests() / "test_ops.py").is_file()
    assert (copy / "conftest.py").is_file()
    assert not (copy / source_dir() / "__pycache__").exists()


def test_a_copy_never_reuses_a_folder(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    (tmp_path / "copy").mkdir()
    with pytest.raises(FileExistsError):
        copy_component(project, gap_spec(), tmp_path / "copy")


def test_a_missing_source_folder_names_the_spec(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    with pytest.raises(ComponentTreeError, match=r"specs/mathy\.md"):
        copy_component(tmp_path / "project", gap_spec(), tmp_path / "copy")


def test_the_tests_folder_is_run_only_when_the_copy_has_one(tmp_path: Path) -> None:
    tree = write_gap_component(tmp_path)
    assert existing_test_paths(tree, component_tests()) == [component_tests()]
    assert existing_test_paths(tree, "tests/absent") == []


def test_paths_inside_the_tree_become_relative(tmp_path: Path) -> None:
    assert relative_to_tree(tmp_path / "src" / "ops.py", tmp_path) == "src/ops.py"
    assert relative_to_tree(str(tmp_path / "src" / "ops.py"), tmp_path) == "src/ops.py"


def test_a_tree_reached_through_a_link_still_gives_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "real" / "src").mkdir(parents=True)
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert relative_to_tree(tmp_path / "real" / "src" / "ops.py", tmp_path / "link") == "src/ops.py"


def test_relative_paths_and_paths_outside_the_tree_come_back_as_given(tmp_path: Path) -> None:
    assert relative_to_tree("src/ops.py", tmp_path) == "src/ops.py"
    assert relative_to_tree("/elsewhere/ops.py", tmp_path) == "/elsewhere/ops.py"


def test_a_source_file_linked_outside_the_project_is_refused_and_nothing_is_copied(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    secret = tmp_path / "home" / "keys"
    secret.parent.mkdir()
    secret.write_text("PRIVATE KEY")
    os.symlink(secret, project / source_dir() / "keys.py")
    with pytest.raises(LinkOutsideProject, match=r"keys\.py is a symlink to .*outside the project"):
        copy_component(project, gap_spec(), tmp_path / "copy")
    assert not (tmp_path / "copy").exists()


def test_a_tests_folder_linked_outside_the_project_is_refused(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    outside = tmp_path / "elsewhere"
    (project / component_tests()).rename(outside)
    os.symlink(outside, project / component_tests())
    with pytest.raises(LinkOutsideProject, match="outside the project"):
        copy_component(project, gap_spec(), tmp_path / "copy")


def test_a_link_that_stays_inside_the_project_is_copied_as_its_file(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    os.symlink("ops.py", project / source_dir() / "alias.py")
    copy = copy_component(project, gap_spec(), tmp_path / "copy")
    alias = copy / source_dir() / "alias.py"
    assert not alias.is_symlink()
    assert alias.read_text() == (project / source_dir() / "ops.py").read_text()


def test_a_link_planted_in_a_working_tree_is_refused_when_the_tree_is_copied(tmp_path: Path) -> None:
    tree = write_gap_component(tmp_path / "tree")
    (tmp_path / "secret").write_text("x")
    os.symlink(tmp_path / "secret", tree / source_dir() / "planted.py")
    with pytest.raises(LinkOutsideProject, match="planted"):
        copy_tree(tree, tmp_path / "copy")
