"""Projects nobody here wrote, and one in the commonest layout, taken through the real `spec2prod` CLI.

The real projects are sdists from PyPI with their own test suites; `scripts/fetch_real_projects.sh` (run by
`make test`) downloads them by pinned version and sha256 into `.cache/real-projects/`, together with the
wheel of the greeter fixture's one dependency in `.cache/wheelhouse/`, because no test may reach the
Internet. Without them the tests that need them skip, naming the script, unless
SPEC2PROD_REAL_PROJECTS_REQUIRED=1 (as in `make test`), where a missing fetch is a failure.

Every test works on a copy of a project in its own temporary folder, runs the CLI as a user would (from the
project folder, with a spec path), in a fresh Dagster home and a fresh cache of component environments
that can only be filled from the local wheelhouse.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
REAL_PROJECTS_CACHE = REPO_ROOT / ".cache" / "real-projects"
WHEELHOUSE = REPO_ROOT / ".cache" / "wheelhouse"
FETCH_SCRIPT = "scripts/fetch_real_projects.sh"
REQUIRED_ENV = "SPEC2PROD_REAL_PROJECTS_REQUIRED"
GREETER_SOURCE = REPO_ROOT / "tests" / "fixtures" / "greeter_project"
SPECS_FOLDER = Path(__file__).resolve().parent / "specs"
HUMANIZE_WHEEL = "humanize-4.17.0-py3-none-any.whl"
_QUIET_INSTANCE = "telemetry:\n  enabled: false\n"
MUTATION_BUDGET_S = 20
# What a run or an editor leaves in a project; a copy is the project as its authors keep it.
_GENERATED_STATE = shutil.ignore_patterns(".spec2prod", ".coverage*", "__pycache__", "*.pyc", ".pytest_cache")


@dataclass(frozen=True)
class Project:
    """A project the tests copy: where it comes from, its spec, and where its package is imported from."""

    slug: str
    source: Path
    import_root: str
    source_path: str
    spec: Path | None = None  # None: the project carries its own specs/<slug>.md
    fetched: bool = True

    def require(self) -> None:
        """Skip (or fail, when the fetch is required) if the fetched files are not there."""
        missing = [str(p) for p in self._needs() if not p.exists()]
        if not missing:
            return
        reason = f"{', '.join(missing)} missing: run `bash {FETCH_SCRIPT}` (make test does) once, online"
        if os.environ.get(REQUIRED_ENV) == "1":
            pytest.fail(f"{REQUIRED_ENV}=1 but {reason}")
        pytest.skip(reason)

    def _needs(self) -> list[Path]:
        return [self.source / ".fetched-sha256"] if self.fetched else [WHEELHOUSE / HUMANIZE_WHEEL]

    def copy_to(self, destination: Path) -> Path:
        """A copy of the project with its spec in `specs/`."""
        self.require()
        shutil.copytree(self.source, destination, ignore=_GENERATED_STATE)
        (destination / ".fetched-sha256").unlink(missing_ok=True)
        if self.spec is not None:
            (destination / "specs").mkdir(exist_ok=True)
            shutil.copy(self.spec, destination / "specs" / f"{self.slug}.md")
        return destination

    def python_path(self, root: Path) -> str:
        """What the project's tests need on PYTHONPATH besides pytest: its package and its dependencies."""
        entries = [str(root / self.import_root)]
        if not self.fetched:
            entries.append(str(WHEELHOUSE / HUMANIZE_WHEEL))  # a pure-Python wheel imports as a zip
        return os.pathsep.join(entries)


PROJECTS = {
    "greeter": Project("greeter", GREETER_SOURCE, "src", "src/greeter", fetched=False),
    # A package folder at the root and its test module beside it; no pytest configuration at all.
    "inflection": Project(
        "inflection", REAL_PROJECTS_CACHE / "inflection", ".", "inflection", SPECS_FOLDER / "inflection.md"
    ),
    # src layout, tests/ as a package, coverage and tools configured in tox.ini and pyproject.toml.
    "cachetools": Project(
        "cachetools",
        REAL_PROJECTS_CACHE / "cachetools",
        "src",
        "src/cachetools",
        SPECS_FOLDER / "cachetools.md",
    ),
}


def cli_env(dagster_home: Path, env_cache: Path) -> dict[str, str]:
    """The caller's environment without SPEC2PROD_* steering, on a fresh instance, installing offline only."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("SPEC2PROD_", "UV_", "PIP_"))
    }
    return env | {
        "DAGSTER_HOME": str(dagster_home),
        "SPEC2PROD_ENV_CACHE": str(env_cache),
        # Component environments are built from the local wheelhouse, never from an index (uv or pip).
        "UV_OFFLINE": "1",
        "UV_FIND_LINKS": str(WHEELHOUSE),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(WHEELHOUSE),
        "PYTHONUNBUFFERED": "1",
        # CrossHair explores each module for at most this long: enough to find gaps in a real project's
        # code, bounded so three projects fit in CI's minutes.
        "SPEC2PROD_CROSSHAIR_TIME_BUDGET_S": "40",
        "SPEC2PROD_CROSSHAIR_PER_CONDITION_S": "1",
        # Each mutation run (baseline suite, funnel check, release suite) gets this long: real projects
        # have hundreds of mutants, so they are sampled, which is what these runs check.
        "SPEC2PROD_MUTATION_BUDGET_S": str(MUTATION_BUDGET_S),
    }


def fresh_dagster_home(base: Path) -> Path:
    home = base / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(_QUIET_INSTANCE, encoding="utf-8")
    return home


@dataclass(frozen=True)
class CliRun:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    wall_s: float

    def explain(self) -> str:
        return (
            f"`spec2prod {' '.join(self.args)}` exited {self.returncode} after {self.wall_s:.1f}s\n"
            f"--- stdout (tail) ---\n{self.stdout[-6000:]}\n--- stderr (tail) ---\n{self.stderr[-6000:]}"
        )


def spec2prod(args: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float) -> CliRun:
    """The installed `spec2prod` command, timed, its output captured."""
    started = time.perf_counter()
    completed = subprocess.run(
        [str(BIN / "spec2prod"), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    return CliRun(
        tuple(args), completed.returncode, completed.stdout, completed.stderr, time.perf_counter() - started
    )


_COLLECTED_RE = re.compile(r"^(\d+) tests? collected", re.MULTILINE)


def project_pytest(project: Project, root: Path, args: list[str], timeout_s: float = 300) -> str:
    """Real pytest in the project folder, the project's own configuration in force; returns its output."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "COVERAGE_PROCESS_START")
    }
    env |= {"PYTHONPATH": project.python_path(root), "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert completed.returncode == 0, f"pytest {' '.join(args)} in {root} failed:\n{completed.stdout[-4000:]}"
    return completed.stdout


def collected_count(project: Project, root: Path) -> int:
    """How many tests pytest itself collects in the project, as `pytest --collect-only -q` reports it."""
    output = project_pytest(project, root, ["--collect-only", "-q"])
    found = _COLLECTED_RE.search(output)
    assert found, f"no 'N tests collected' line in:\n{output[-2000:]}"
    return int(found.group(1))
