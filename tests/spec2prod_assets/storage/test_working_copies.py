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
    relative_to_tree,
)
from tests.support.gap_component import component_tests, gap_layout, source_dir, write_gap_component


def test_a_copy_keeps_the_layout_and_leaves_caches_behind(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    (project / source_dir() / "__pycache__").mkdir()
    (project / source_dir() / "__pycache__" / "ops.cpython-311.pyc").write_bytes(b"stale")
    (project / "conftest.py").write_text("")
    layout = gap_layout().model_copy(update={"config_files": ("conftest.py",)})
    copy = copy_component(project, layout, tmp_path / "copy")
    assert (copy / source_dir() / "ops.py").read_text() == (project / source_dir() / "ops.py").read_text()
    assert (copy / component_tests() / "test_ops.py").is_file()
    assert (copy / "conftest.py").is_file()
    assert not (copy / source_dir() / "__pycache__").exists()


def test_a_copy_never_reuses_a_folder(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    (tmp_path / "copy").mkdir()
    with pytest.raises(FileExistsError):
        copy_component(project, gap_layout(), tmp_path / "copy")


def test_a_missing_source_folder_names_the_spec(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    with pytest.raises(ComponentTreeError, match=r"specs/mathy\.md"):
        copy_component(tmp_path / "project", gap_layout(), tmp_path / "copy")


def test_the_projects_configuration_files_travel_with_the_copy(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (project / ".coveragerc").write_text("[run]\nomit = */words.py\n")
    (project / "tests" / "conftest.py").write_text("")
    layout = gap_layout().model_copy(
        update={"config_files": ("pyproject.toml", ".coveragerc", "tests/conftest.py", "tox.ini")}
    )
    copy = copy_component(project, layout, tmp_path / "copy")
    assert (copy / "pyproject.toml").is_file() and (copy / ".coveragerc").is_file()
    assert (copy / "tests" / "conftest.py").is_file()
    assert not (copy / "tox.ini").exists()  # named but absent in the project: nothing to copy


def test_a_configuration_file_linked_outside_the_project_is_refused(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    (tmp_path / "elsewhere.toml").write_text("")
    os.symlink(tmp_path / "elsewhere.toml", project / "pyproject.toml")
    layout = gap_layout().model_copy(update={"config_files": ("pyproject.toml",)})
    with pytest.raises(LinkOutsideProject, match=r"pyproject\.toml is a symlink"):
        copy_component(project, layout, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()


def test_a_copy_of_a_tree_keeps_the_coverage_configuration_but_not_coverage_data(tmp_path: Path) -> None:
    tree = write_gap_component(tmp_path / "tree")
    (tree / ".coveragerc").write_text("[run]\nbranch = true\n")
    (tree / ".coverage").write_bytes(b"data")
    (tree / ".coverage.host.123").write_bytes(b"data")
    copy = copy_tree(tree, tmp_path / "copy")
    assert (copy / ".coveragerc").is_file()
    assert not (copy / ".coverage").exists() and not (copy / ".coverage.host.123").exists()


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
        copy_component(project, gap_layout(), tmp_path / "copy")
    assert not (tmp_path / "copy").exists()


def test_a_tests_folder_linked_outside_the_project_is_refused(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    outside = tmp_path / "elsewhere"
    (project / component_tests()).rename(outside)
    os.symlink(outside, project / component_tests())
    with pytest.raises(LinkOutsideProject, match="outside the project"):
        copy_component(project, gap_layout(), tmp_path / "copy")


def test_a_link_that_stays_inside_the_project_is_copied_as_its_file(tmp_path: Path) -> None:
    project = write_gap_component(tmp_path / "project")
    os.symlink("ops.py", project / source_dir() / "alias.py")
    copy = copy_component(project, gap_layout(), tmp_path / "copy")
    alias = copy / source_dir() / "alias.py"
    assert not alias.is_symlink()
    assert alias.read_text() == (project / source_dir() / "ops.py").read_text()


def test_a_link_planted_in_a_working_tree_is_refused_when_the_tree_is_copied(tmp_path: Path) -> None:
    tree = write_gap_component(tmp_path / "tree")
    (tmp_path / "secret").write_text("x")
    os.symlink(tmp_path / "secret", tree / source_dir() / "planted.py")
    with pytest.raises(LinkOutsideProject, match="planted"):
        copy_tree(tree, tmp_path / "copy")
