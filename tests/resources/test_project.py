"""The project resource: where the project and its work folder are, from config or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from resources.env_vars import EnvVarError
from resources.project import (
    BUNDLED_EXAMPLE,
    DEPLOY_ROOT_ENV,
    PROJECT_ROOT_ENV,
    WORK_DIR_ENV,
    ProjectResource,
    ProjectRootError,
    default_project_root,
)
from spec2prod_assets.storage.work_folder import WORK_FOLDER_NAME, WorkFolder


def test_without_configuration_the_project_is_the_one_holding_specs_above_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "specs").mkdir()
    inside = tmp_path / "src" / "pkg"
    inside.mkdir(parents=True)
    monkeypatch.chdir(inside)

    assert ProjectResource().root_path == tmp_path.resolve()


def test_without_configuration_or_a_project_here_the_error_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    project = ProjectResource()  # made without a project: dagster loads the code location anyway

    with pytest.raises(ProjectRootError) as caught:
        _ = project.root_path

    message = str(caught.value)
    assert "\n" not in message
    assert f"{tmp_path} and the folders above it hold no specs/ folder" in message
    assert f"set {PROJECT_ROOT_ENV}=" in message


def test_the_bundled_example_is_never_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BUNDLED_EXAMPLE.parent)  # examples/: no specs/ here, nor above in a checkout

    with pytest.raises(ProjectRootError):
        default_project_root()


def test_the_project_root_defaults_to_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROJECT_ROOT_ENV, str(tmp_path))
    assert ProjectResource().root_path == tmp_path.resolve()


def test_the_environment_variable_wins_over_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here" / "specs").mkdir(parents=True)
    (tmp_path / "there").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    monkeypatch.setenv(PROJECT_ROOT_ENV, str(tmp_path / "there"))

    assert ProjectResource().root_path == (tmp_path / "there").resolve()


def test_a_project_root_variable_naming_no_folder_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv(PROJECT_ROOT_ENV, str(missing))

    with pytest.raises(EnvVarError) as caught:
        default_project_root()

    assert (
        str(caught.value)
        == f"{PROJECT_ROOT_ENV}={str(missing)!r}: must be an existing folder (the project root)"
    )


def test_configured_root_wins_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROJECT_ROOT_ENV, str(tmp_path / "from-env"))
    assert ProjectResource(root=str(tmp_path / "configured")).root_path == tmp_path / "configured"


def test_the_work_folder_defaults_to_a_folder_inside_the_project(tmp_path: Path) -> None:
    assert ProjectResource(root=str(tmp_path)).work_path == tmp_path / WORK_FOLDER_NAME


def test_the_work_folder_defaults_to_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORK_DIR_ENV, str(tmp_path / "work"))
    assert ProjectResource(root=str(tmp_path / "project")).work_path == tmp_path / "work"


def test_stage_dir_is_per_slug_run_and_stage(tmp_path: Path) -> None:
    project = ProjectResource(root=str(tmp_path))
    stage_dir = project.stage_dir("calculator", "run-1", "baseline_tests")
    assert stage_dir == tmp_path / WORK_FOLDER_NAME / "calculator" / "runs" / "run-1" / "baseline_tests"
    assert stage_dir.is_dir()
    assert list(stage_dir.iterdir()) == []


def test_stage_dir_refuses_to_reuse_a_folder(tmp_path: Path) -> None:
    project = ProjectResource(root=str(tmp_path))
    project.stage_dir("calculator", "run-1", "baseline_tests")
    with pytest.raises(FileExistsError):
        project.stage_dir("calculator", "run-1", "baseline_tests")


def test_report_and_deploy_paths_follow_the_work_folder_layout(tmp_path: Path) -> None:
    project = ProjectResource(root=str(tmp_path / "project"), work_dir=str(tmp_path / "work"))
    assert project.work_folder == WorkFolder(tmp_path / "work")
    assert project.report_path("calculator", "run-1") == WorkFolder(tmp_path / "work").report(
        "calculator", "run-1"
    )
    assert project.deploy_path == tmp_path / "work" / "deploy"


def test_the_deploy_root_defaults_to_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DEPLOY_ROOT_ENV, str(tmp_path / "releases"))
    assert ProjectResource(root=str(tmp_path)).deploy_path == tmp_path / "releases"
