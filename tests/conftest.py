"""Fixtures shared by the test packages: a private copy of the bundled example and a private Dagster home.

Every test that runs the pipeline works on a copy of `examples/demo` in its own temporary folder, so it
never writes into the repository and never sees what an earlier run left behind.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from resources.deployers import DEPLOYER_SETTINGS_ENV
from resources.project import DEPLOY_ROOT_ENV, PROJECT_ROOT_ENV, VALUES_URL_ENV, WORK_DIR_ENV
from sensors.spec_sensor import INTERVAL_ENV, JOB_ENV
from spec2prod_assets.environment.builder import ENV_CACHE_ENV
from spec2prod_assets.pipeline.mutation_stage import MUTATION_BUDGET_ENV
from tests.support.agent_server import AgentServer, running_agent_server
from tests.support.scripted_llm import ScriptedLLM, running_scripted_llm

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_SOURCE = REPO_ROOT / "examples" / "demo"
SPECS_PARTITION = "specs"
# What runs, tools and editors leave in the example; a copy is the project as committed.
_GENERATED_STATE = shutil.ignore_patterns(
    ".spec2prod", ".coverage*", ".ruff_cache", ".pytest_cache", "__pycache__", "*.pyc"
)
_QUIET_INSTANCE = "telemetry:\n  enabled: false\n"


def copy_demo(destination: Path) -> Path:
    """A copy of the bundled example (specs/, src/, tests/) at `destination`, without generated state."""
    shutil.copytree(DEMO_SOURCE, destination, ignore=_GENERATED_STATE)
    return destination


def tree_digest(root: Path, *, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """`{relative path: sha256}` of every file under `root` (top-level names in `exclude` skipped)."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.relative_to(root).parts[0] not in exclude
    }


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write `{relative path: text}` under `root`, creating folders; returns `root`."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# For the subprocesses tests start with a cleaned environment: mutation testing adds seconds to every
# pipeline run, and is tested where it is the subject.
MUTATION_OFF = {MUTATION_BUDGET_ENV: "0"}


@pytest.fixture(autouse=True, scope="session")
def _private_environment_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Component environments built by the tests go to one session folder, never the user's cache; shared by
    the whole session (and the subprocesses it starts) so each distinct dependency set is built once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_CACHE_ENV, str(tmp_path_factory.mktemp("component-envs")))
        # Mutation testing adds seconds to every pipeline run; the tests about it turn it back on.
        patch.setenv(MUTATION_BUDGET_ENV, MUTATION_OFF[MUTATION_BUDGET_ENV])
        yield


@pytest.fixture(autouse=True)
def _no_project_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's SPEC2PROD_* variables must not steer tests to their own project or sensor job."""
    monkeypatch.delenv(PROJECT_ROOT_ENV, raising=False)
    monkeypatch.delenv(WORK_DIR_ENV, raising=False)
    monkeypatch.delenv(DEPLOY_ROOT_ENV, raising=False)
    monkeypatch.delenv(VALUES_URL_ENV, raising=False)
    monkeypatch.delenv(JOB_ENV, raising=False)
    monkeypatch.delenv(INTERVAL_ENV, raising=False)
    for name in DEPLOYER_SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def demo_project(tmp_path: Path) -> Path:
    """A fresh copy of the bundled example project."""
    return copy_demo(tmp_path / "demo")


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty persistent Dagster instance in a temporary folder, set as $DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(_QUIET_INSTANCE, encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def partitioned_instance() -> Iterator[dg.DagsterInstance]:
    """A throw-away in-memory instance that knows the example's two spec partitions.

    In memory rather than `instance_for_test`'s SQLite: the same event and partition APIs, a second
    less per test; tests that need a persistent instance use `dagster_home`.
    """
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(SPECS_PARTITION, ["calculator", "text_stats"])
        yield instance


@pytest.fixture(scope="module")
def scripted_llm() -> Iterator[ScriptedLLM]:
    """The OpenAI-compatible model of tests/support/scripted_llm.py, one per test module."""
    with running_scripted_llm() as llm:
        yield llm


@pytest.fixture(scope="module")
def agent_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentServer]:
    """The real OpenHands agent server from .venv-openhands, one per test module, stopped at its end."""
    with running_agent_server(tmp_path_factory.mktemp("openhands-agent-server")) as server:
        yield server
