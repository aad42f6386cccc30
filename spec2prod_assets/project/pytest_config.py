"""The project's own pytest configuration, found the way pytest finds it.

pytest reads the first of `pytest.ini`, `.pytest.ini`, `pyproject.toml`, `tox.ini`, `setup.cfg` in a folder
that holds a pytest section (`pytest.ini` counts even when empty; `pyproject.toml` needs
`[tool.pytest.ini_options]`, `tox.ini` `[pytest]`, `setup.cfg` `[tool:pytest]`). spec2prod looks only in the
project root: the project is the boundary, and a working copy must not pick up a file that happens to lie
above it. The ini files are parsed with `iniconfig`, the parser pytest itself uses, so a value means here
what it means to pytest.
"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import iniconfig
from pydantic import BaseModel, ConfigDict

# pytest's own search order inside one folder.
PYTEST_CONFIG_NAMES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")

IniValue = str | list[str]


class ProjectConfigError(ValueError):
    """A project configuration file pytest would refuse too; the message names the file."""


class PytestConfig(BaseModel):
    """The options of the file pytest would use, as pytest reads them (strings, or lists from TOML)."""

    model_config = ConfigDict(frozen=True)

    path: str | None = None
    options: dict[str, IniValue] = {}

    def args(self, name: str) -> list[str]:
        """An "args" option (`testpaths`, `python_files`, `addopts`): shell-split when it is a string."""
        value = self.options.get(name)
        if value is None:
            return []
        return shlex.split(value) if isinstance(value, str) else [str(item) for item in value]

    def paths(self, name: str) -> list[str]:
        """A "paths" option (`pythonpath`): whitespace-separated when it is a string."""
        value = self.options.get(name)
        if value is None:
            return []
        return value.split() if isinstance(value, str) else [str(item) for item in value]

    @property
    def python_files(self) -> tuple[str, ...]:
        return tuple(self.args("python_files")) or DEFAULT_PYTHON_FILES


def read_pytest_config(project_root: Path) -> PytestConfig:
    """The pytest configuration of the project root, or an empty one when it has none."""
    found_pyproject: str | None = None
    for name in PYTEST_CONFIG_NAMES:
        path = project_root / name
        if not path.is_file():
            continue
        if name == "pyproject.toml" and found_pyproject is None:
            found_pyproject = name
        options = _pytest_section(path)
        if options is not None:
            return PytestConfig(path=name, options=options)
    # pytest still takes a pyproject.toml without a pytest table as its (empty) configuration file.
    return PytestConfig(path=found_pyproject)


def _pytest_section(path: Path) -> dict[str, IniValue] | None:
    """The pytest options of one file, or None when it holds no pytest section."""
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProjectConfigError(f"{path.name}: not valid TOML: {exc}") from exc
        table = data.get("tool", {}).get("pytest", {}).get("ini_options")
        if not isinstance(table, dict):
            return None
        return {str(k): v if isinstance(v, list) else str(v) for k, v in table.items()}
    try:
        parsed = iniconfig.IniConfig(str(path))
    except (iniconfig.ParseError, UnicodeDecodeError) as exc:
        raise ProjectConfigError(f"{path.name}: not a valid ini file: {exc}") from exc
    section = "tool:pytest" if path.suffix == ".cfg" else "pytest"
    if section in parsed:
        return dict(parsed[section].items())
    return {} if path.name == "pytest.ini" else None
