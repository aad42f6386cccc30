"""The fixed top level of the repository, the generic package names resolving to this repository, and the
layering inside it: stage packages never reach up into Dagster, resources, sensors or the pipeline.

The layering is read from the source with `ast` rather than by importing, so a violation is found even in
a module no test imports, and the failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

OWN_PACKAGES = ("spec2prod_assets", "resources", "sensors")
REQUIRED_FOLDERS = ("spec2prod_assets", "resources", "sensors", "tests", "examples", "bench")
REQUIRED_FILES = ("pyproject.toml", "workspace.yaml", "README.md", "Makefile", ".ci/run")

PRODUCT_PACKAGE = "spec2prod_assets"
STAGE_PACKAGES = (
    "spec",
    "testing",
    "generation",
    "refactor",
    "release",
    "mutation",
    "deploy",
    "report",
    "runtime",
    "storage",
    "project",
    "environment",
)
DAGSTER_PACKAGES = ("pipeline",)
FORBIDDEN_IN_STAGES = ("dagster", "resources", "sensors", f"{PRODUCT_PACKAGE}.pipeline")
MAX_MODULE_LINES = 400


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


def imported_modules(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in the file, wherever it sits: top level, inside a
    function, under `if TYPE_CHECKING:`. `from a import b` yields `a.b` too, since `b` may be a module."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield node.lineno, base
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def _is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def layering_violations(repo_root: Path) -> list[str]:
    """`file:line: imports X` for each stage-package import of dagster, resources, sensors or the pipeline."""
    found: set[tuple[str, int, str]] = set()
    for stage in STAGE_PACKAGES:
        for path in (repo_root / PRODUCT_PACKAGE / stage).rglob("*.py"):
            relative = path.relative_to(repo_root)
            module = ".".join(relative.with_suffix("").parts)
            for line, imported in imported_modules(path, module):
                top = imported.split(".")[0]
                if top.startswith("dagster_") or any(_is_within(imported, f) for f in FORBIDDEN_IN_STAGES):
                    found.add((relative.as_posix(), line, imported))
    return [f"{file}:{line}: imports {imported}" for file, line, imported in sorted(found)]


def product_modules(repo_root: Path) -> list[Path]:
    return sorted(path for package in OWN_PACKAGES for path in (repo_root / package).rglob("*.py"))


def test_stage_packages_never_import_dagster_resources_sensors_or_the_pipeline() -> None:
    violations = layering_violations(REPO_ROOT)
    assert not violations, "stage packages must not reach up a layer:\n" + "\n".join(violations)


def test_every_product_package_is_a_stage_package_or_the_pipeline() -> None:
    """A new package has to be placed on one side of the rule, or it would escape the check above."""
    packages = {path.parent.name for path in (REPO_ROOT / PRODUCT_PACKAGE).glob("*/__init__.py")}
    assert packages == {*STAGE_PACKAGES, *DAGSTER_PACKAGES}


def test_the_layering_check_names_the_file_line_and_import_of_a_violation(tmp_path: Path) -> None:
    stage = tmp_path / PRODUCT_PACKAGE / "deploy"
    stage.mkdir(parents=True)
    (tmp_path / PRODUCT_PACKAGE / "__init__.py").write_text("", encoding="utf-8")
    (stage / "__init__.py").write_text("", encoding="utf-8")
    (stage / "clean.py").write_text(
        "import json\nfrom spec2prod_assets.storage import atomic_files\nfrom . import clean\n",
        encoding="utf-8",
    )
    (stage / "leaky.py").write_text(
        "\n".join(
            [
                "from __future__ import annotations",
                "import dagster as dg",
                "from typing import TYPE_CHECKING",
                "if TYPE_CHECKING:",
                "    from resources.project import ProjectResource",
                "def late() -> None:",
                "    from ..pipeline import jobs",
                "    from spec2prod_assets import pipeline",
                "    import sensors.spec_sensor",
                "    import dagster_pandas",
                "    importlib.import_module('dagster')",
            ]
        ),
        encoding="utf-8",
    )
    violations = layering_violations(tmp_path)
    assert violations[:2] == [
        "spec2prod_assets/deploy/leaky.py:2: imports dagster",
        "spec2prod_assets/deploy/leaky.py:5: imports resources.project",
    ]
    assert "spec2prod_assets/deploy/leaky.py:7: imports spec2prod_assets.pipeline" in violations
    assert "spec2prod_assets/deploy/leaky.py:8: imports spec2prod_assets.pipeline" in violations
    assert "spec2prod_assets/deploy/leaky.py:9: imports sensors.spec_sensor" in violations
    assert "spec2prod_assets/deploy/leaky.py:10: imports dagster_pandas" in violations
    assert "spec2prod_assets/deploy/leaky.py:11: imports dagster" in violations
    assert not [v for v in violations if "clean.py" in v]


def test_the_pipeline_package_may_import_dagster(tmp_path: Path) -> None:
    pipeline = tmp_path / PRODUCT_PACKAGE / "pipeline"
    pipeline.mkdir(parents=True)
    (pipeline / "assets.py").write_text("import dagster as dg\n", encoding="utf-8")
    assert layering_violations(tmp_path) == []


@pytest.mark.parametrize("package", OWN_PACKAGES)
def test_no_product_module_is_over_the_size_limit(package: str) -> None:
    oversized = [
        f"{path.relative_to(REPO_ROOT).as_posix()}: {lines} lines"
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not oversized, f"split these by concern (at most {MAX_MODULE_LINES} lines):\n" + "\n".join(
        oversized
    )


def test_product_code_uses_only_public_dagster_apis() -> None:
    """`dagster._core` moves between releases; only what `dagster` exports is kept stable."""
    private: list[str] = []
    for path in product_modules(REPO_ROOT):
        relative = path.relative_to(REPO_ROOT).as_posix()
        module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
        private += [
            f"{relative}:{line}: imports {imported}"
            for line, imported in imported_modules(path, module)
            if imported.startswith("dagster._")
        ]
        private += [
            f"{relative}:{number}: mentions dagster._core"
            for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if "dagster._core" in text
        ]
    assert not private, "\n".join(private)
