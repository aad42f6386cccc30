"""The project's pytest configuration, read from the file pytest itself would use."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec2prod_assets.project.pytest_config import ProjectConfigError, read_pytest_config
from tests.conftest import write_files


def test_a_project_without_configuration_has_none(tmp_path: Path) -> None:
    config = read_pytest_config(tmp_path)
    assert (config.path, config.options) == (None, {})
    assert config.python_files == ("test_*.py", "*_test.py")


def test_pyproject_ini_options_are_read_with_lists_kept(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests", "integration"]\n'
            'pythonpath = ["src"]\naddopts = "-ra --strict-markers"\n'
        },
    )
    config = read_pytest_config(tmp_path)
    assert config.path == "pyproject.toml"
    assert config.args("testpaths") == ["tests", "integration"]
    assert config.paths("pythonpath") == ["src"]
    assert config.args("addopts") == ["-ra", "--strict-markers"]


def test_pytest_ini_wins_over_pyproject_as_pytest_decides(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pytest.ini": "[pytest]\ntestpaths = checks\n",
            "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
        },
    )
    config = read_pytest_config(tmp_path)
    assert (config.path, config.args("testpaths")) == ("pytest.ini", ["checks"])


def test_an_empty_pytest_ini_is_still_the_configuration(tmp_path: Path) -> None:
    write_files(tmp_path, {"pytest.ini": "", "setup.cfg": "[tool:pytest]\ntestpaths = t\n"})
    config = read_pytest_config(tmp_path)
    assert (config.path, config.args("testpaths")) == ("pytest.ini", [])


def test_pyproject_without_a_pytest_table_gives_way_to_tox_ini(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"pyproject.toml": "[project]\nname = 'x'\n", "tox.ini": "[pytest]\ntestpaths =\n    a\n    b\n"},
    )
    config = read_pytest_config(tmp_path)
    assert (config.path, config.args("testpaths")) == ("tox.ini", ["a", "b"])


def test_setup_cfg_needs_the_tool_pytest_section(tmp_path: Path) -> None:
    write_files(tmp_path, {"setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\npython_files = check_*.py\n"})
    config = read_pytest_config(tmp_path)
    assert (config.path, config.python_files) == ("setup.cfg", ("check_*.py",))


def test_a_tox_ini_without_a_pytest_section_is_not_the_configuration(tmp_path: Path) -> None:
    write_files(tmp_path, {"tox.ini": "[tox]\nenvlist = py311\n"})
    assert read_pytest_config(tmp_path).path is None


def test_a_pyproject_alone_without_pytest_table_is_pytests_empty_configuration(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n"})
    config = read_pytest_config(tmp_path)
    assert (config.path, config.options) == ("pyproject.toml", {})


def test_a_broken_pyproject_is_one_line_naming_the_file(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": "[tool.pytest.ini_options\n"})
    with pytest.raises(ProjectConfigError, match=r"^pyproject\.toml: not valid TOML") as caught:
        read_pytest_config(tmp_path)
    assert "\n" not in str(caught.value)
