"""Finding a partition's spec: a broken spec elsewhere in specs/ never stops another spec's runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spec2prod_assets.spec.catalog import locate_spec, project_root_of
from spec2prod_assets.spec.model import SpecError

GOOD_SPEC = "# Calc\n\n## Requirements\n- FR-1: Add two numbers.\n"


def project_with(tmp_path: Path, broken: str) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "calc.md").write_text(GOOD_SPEC, encoding="utf-8")
    (specs / "broken.md").write_text(broken, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "broken",
    [
        "---\nname: X\ncreated: 2024-02-30\nrequirements: [a]\n---\n",
        "---\nname: X\nbuild: !!int abc\nrequirements: [a]\n---\n",
        "---\nname: X\ncoverage: " + "9" * 400 + "\nrequirements: [a]\n---\n",
        "# X\x00\n## Requirements\n- a\n",
    ],
    ids=["february-30", "int-tag-on-text", "coverage-too-big", "nul-byte"],
)
def test_a_broken_other_spec_does_not_stop_locating_this_one(tmp_path: Path, broken: str) -> None:
    assert locate_spec(project_with(tmp_path, broken), "calc").slug == "calc"


def test_a_fifo_among_the_specs_does_not_block_locating_this_one(tmp_path: Path) -> None:
    root = project_with(tmp_path, GOOD_SPEC.replace("Calc", "Other"))
    os.mkfifo(root / "specs" / "waiting.md")

    assert locate_spec(root, "calc").slug == "calc"


def test_a_missing_slug_names_the_broken_specs(tmp_path: Path) -> None:
    root = project_with(tmp_path, "---\nname: X\ncreated: 2024-02-30\nrequirements: [a]\n---\n")

    with pytest.raises(SpecError, match=r"no spec with slug 'nope'.*specs/broken.md:3"):
        locate_spec(root, "nope")


def test_the_project_of_a_spec_file_is_the_parent_of_its_specs_folder(tmp_path: Path) -> None:
    spec_file = tmp_path / "specs" / "team" / "calc.md"
    spec_file.parent.mkdir(parents=True)
    spec_file.write_text(GOOD_SPEC, encoding="utf-8")

    assert project_root_of(spec_file) == tmp_path


def test_the_project_of_a_folder_is_the_nearest_one_holding_specs(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "src" / "calc").mkdir(parents=True)

    assert project_root_of(tmp_path / "src" / "calc") == tmp_path
    assert project_root_of(tmp_path) == tmp_path
    assert project_root_of(tmp_path / "specs") == tmp_path


def test_a_relative_folder_gives_an_absolute_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "specs").mkdir()
    monkeypatch.chdir(tmp_path / "specs")

    assert project_root_of(Path(".")) == tmp_path


def test_no_specs_folder_anywhere_gives_none(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "calc.md").write_text(GOOD_SPEC, encoding="utf-8")

    assert project_root_of(tmp_path / "docs" / "calc.md") is None
    assert project_root_of(tmp_path / "docs") is None
