"""The blocking check behind the `spec` asset: a source path must exist inside the project, links resolved."""

from __future__ import annotations

from pathlib import Path

from spec2prod_assets.spec.source_paths import source_path_problem


def test_an_existing_source_folder_has_no_problem(tmp_path: Path) -> None:
    (tmp_path / "src" / "calc").mkdir(parents=True)
    assert source_path_problem(tmp_path, "src/calc") is None


def test_a_missing_source_folder_is_named(tmp_path: Path) -> None:
    assert source_path_problem(tmp_path, "src/calc") == (
        f"source path 'src/calc' does not exist under the project root {tmp_path.resolve()}"
    )


def test_a_source_folder_linked_out_of_the_project_is_refused(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (project / "src").symlink_to(outside, target_is_directory=True)
    problem = source_path_problem(project, "src")
    assert problem is not None
    assert "outside the project root" in problem
