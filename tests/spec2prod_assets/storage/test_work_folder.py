"""The work-folder layout: every path under the work folder, spelled in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.storage.work_folder import WORK_FOLDER_NAME, WorkFolder, numbered_pytest_run


def test_the_default_work_folder_is_inside_the_project(tmp_path: Path) -> None:
    assert WorkFolder.inside(tmp_path).path == tmp_path / ".spec2prod" == tmp_path / WORK_FOLDER_NAME


def test_paths_follow_the_documented_layout(tmp_path: Path) -> None:
    work = WorkFolder(tmp_path)
    assert work.run("calculator", "run-1") == tmp_path / "calculator" / "runs" / "run-1"
    assert work.report("calculator", "run-1") == tmp_path / "calculator/runs/run-1/workflow_report.json"
    assert work.bundles("calculator") == tmp_path / "calculator" / "bundles"
    assert work.asset_value("calculator", "spec") == tmp_path / "calculator" / "assets" / "spec.json"
    assert work.deploy == tmp_path / "deploy"
    assert work.dagster_home == tmp_path / "dagster_home"


def test_computing_a_path_creates_nothing(tmp_path: Path) -> None:
    work = WorkFolder(tmp_path / "work")
    work.report("calculator", "run-1")
    work.bundles("calculator")
    assert not (tmp_path / "work").exists()


def test_a_stage_folder_is_created_fresh_and_never_reused(tmp_path: Path) -> None:
    work = WorkFolder(tmp_path)
    stage_dir = work.new_stage_dir("calculator", "run-1", "baseline_tests")
    assert stage_dir == work.run("calculator", "run-1") / "baseline_tests"
    assert stage_dir.is_dir() and list(stage_dir.iterdir()) == []
    with pytest.raises(FileExistsError):
        work.new_stage_dir("calculator", "run-1", "baseline_tests")


def test_numbered_pytest_runs_sort_in_the_order_they_ran(tmp_path: Path) -> None:
    names = [numbered_pytest_run(tmp_path, n, "reliability").name for n in (10, 2, 1)]
    assert sorted(names) == ["01-reliability", "02-reliability", "10-reliability"]
    assert numbered_pytest_run(tmp_path, 1, "coverage") == tmp_path / "runs" / "01-coverage"


def test_caches_sit_in_one_folder_beside_the_specs_and_are_not_created(tmp_path: Path) -> None:
    work = WorkFolder(tmp_path / "work")

    assert work.cache("generation-tasks") == tmp_path / "work" / "cache" / "generation-tasks"
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize("kind", ["", "../escape", "a/b", "Tasks", ".hidden"])
def test_a_cache_kind_is_a_plain_name(tmp_path: Path, kind: str) -> None:
    with pytest.raises(ValueError, match="cache kind"):
        WorkFolder(tmp_path).cache(kind)
