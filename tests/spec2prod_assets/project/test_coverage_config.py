"""The omit patterns of a project's coverage.py settings, from whichever file coverage.py would read."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.project.coverage_config import omitted_patterns
from tests.conftest import write_files


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", '[tool.coverage.run]\nomit = ["*/pkg/_legacy.py", "src/gen/*"]\n'),
        (".coveragerc", "[run]\nomit =\n    */pkg/_legacy.py\n    src/gen/*\n"),
        ("setup.cfg", "[coverage:run]\nomit =\n    */pkg/_legacy.py\n    src/gen/*\n"),
        ("tox.ini", "[coverage:run]\nomit = */pkg/_legacy.py, src/gen/*\n"),
    ],
)
def test_omit_is_read_from_each_file_coverage_reads(tmp_path: Path, name: str, text: str) -> None:
    write_files(tmp_path, {name: text})
    assert omitted_patterns(tmp_path) == ("*/pkg/_legacy.py", "src/gen/*")


def test_coveragerc_wins_over_pyproject_as_in_coverage(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            ".coveragerc": "[run]\nomit = a.py\n",
            "pyproject.toml": '[tool.coverage.run]\nomit = ["b.py"]\n',
        },
    )
    assert omitted_patterns(tmp_path) == ("a.py",)


def test_no_settings_and_absolute_patterns_omit_nothing(tmp_path: Path) -> None:
    assert omitted_patterns(tmp_path) == ()
    write_files(tmp_path, {"pyproject.toml": '[tool.coverage.run]\nomit = ["/home/someone/x.py"]\n'})
    assert omitted_patterns(tmp_path) == ()
