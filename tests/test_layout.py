"""The fixed top level of the repository, and the generic package names resolving to this repository."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

OWN_PACKAGES = ("spec2prod_assets", "resources", "sensors")
REQUIRED_FOLDERS = ("spec2prod_assets", "resources", "sensors", "tests", "examples", "bench")
REQUIRED_FILES = ("pyproject.toml", "workspace.yaml", "README.md", "Makefile", ".ci/run")


@pytest.mark.parametrize("package", OWN_PACKAGES)
def test_package_imports_from_this_repository(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(REPO_ROOT)


def test_packages_resolve_to_this_repository_from_any_working_folder(tmp_path: Path) -> None:
    """What `dagster` and the multiprocess executor's children see: no repository root on sys.path."""
    script = (
        "import importlib, json; "
        f"print(json.dumps({{p: importlib.import_module(p).__file__ for p in {OWN_PACKAGES!r}}}))"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    for package, file in json.loads(completed.stdout).items():
        assert Path(file).resolve().is_relative_to(REPO_ROOT), f"{package} resolved to {file}"


@pytest.mark.parametrize("folder", REQUIRED_FOLDERS)
def test_required_top_level_folder_exists(folder: str) -> None:
    assert (REPO_ROOT / folder).is_dir()


@pytest.mark.parametrize("name", REQUIRED_FILES)
def test_required_top_level_file_exists(name: str) -> None:
    assert (REPO_ROOT / name).is_file()


def test_ci_entry_point_is_executable() -> None:
    assert os.access(REPO_ROOT / ".ci" / "run", os.X_OK)


def test_workspace_and_pyproject_load_the_same_module() -> None:
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text(encoding="utf-8"))
    [location] = workspace["load_from"]
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    module = pyproject["tool"]["dagster"]["module_name"]
    assert location["python_module"]["module_name"] == module == "spec2prod_assets.definitions"
    assert location["python_module"]["location_name"] == pyproject["tool"]["dagster"]["code_location_name"]


@pytest.mark.skipif(
    shutil.which("git") is None or not (REPO_ROOT / ".git").exists(), reason="needs a git checkout"
)
@pytest.mark.parametrize(
    "generated",
    [".tmp_dagster_home_abc/", ".dagster_home/", "examples/demo/.spec2prod/", ".venv/", ".coverage"],
)
def test_generated_state_is_git_ignored(generated: str) -> None:
    completed = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", generated], cwd=REPO_ROOT, timeout=30, check=False
    )
    assert completed.returncode == 0, f"{generated} is not ignored"
