"""The team profile for real: `spec_to_production` on Postgres with two Celery workers and Redis.

One stack serves the module (tests/support/team_stack.py): both example specs go to production at the same
time, as two people's `spec2prod run`s would, with the `openhands` pool limited to one step so the limit
has work to do. A third run, launched from a `dagster dev` on the same Postgres as the UI's launchpad
would, loses its worker process in the middle of generated_tests and is re-executed from failure the way
the UI's button does it (a run `spec2prod run` made in its own process has no code location for the UI
to re-execute it from).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from spec2prod_assets.pipeline.executors import CELERY_BROKER_ENV, CELERY_SETTINGS
from spec2prod_assets.pipeline.run_events import run_failures
from tests.conftest import copy_demo
from tests.e2e.conftest import TERMINAL_STATUSES, DagsterDev, running_dagster_dev
from tests.support.services import require_team_services
from tests.support.team_stack import TeamStack, peak_overlap, step_spans, step_workers, team_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

SPECS = ("calculator", "text_stats")
POOL_LIMIT = 1
RUN_TIMEOUT_S = 600.0
GENERATION = "generated_tests"
REFACTOR = "refactored_code"

_RUN_STATUS_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status jobName stepKeysToExecute tags { key value } }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""
_LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
_REEXECUTE = """
mutation Reexecute($params: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}
"""


@dataclass(frozen=True)
class CliRun:
    spec: str
    returncode: int
    output: str
    run_id: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamStack]:
    require_team_services()
    with team_stack(tmp_path_factory.mktemp("team"), pool_limit=POOL_LIMIT) as running:
        yield running


@pytest.fixture(scope="module")
def instance(stack: TeamStack) -> dg.DagsterInstance:
    return stack.instance()


@pytest.fixture(scope="module")
def production_runs(stack: TeamStack, instance: dg.DagsterInstance) -> dict[str, CliRun]:
    """Both example specs to production at once, each by its own `spec2prod run`."""
    project = copy_demo(stack.base / "project")
    processes = {spec: _spec2prod_run(project, spec, stack.env) for spec in SPECS}
    runs = {}
    for spec, process in processes.items():
        output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
        runs[spec] = CliRun(spec, process.returncode, output, _run_id_of(instance, spec, project))
    return runs


@pytest.fixture(scope="module")
def team_dagster_dev(stack: TeamStack) -> Iterator[DagsterDev]:
    """`dagster dev` on the same Postgres and broker; its sensor watches a project with no specs, so it
    launches nothing of its own."""
    quiet_project = stack.base / "no-specs"
    (quiet_project / "specs").mkdir(parents=True)
    env = stack.env | {"SPEC2PROD_PROJECT_ROOT": str(quiet_project)}
    with running_dagster_dev(stack.base, stack.home, quiet_project, env) as server:
        yield server


@pytest.fixture(scope="module")
def killed_run(
    stack: TeamStack, instance: dg.DagsterInstance, team_dagster_dev: DagsterDev
) -> tuple[str, str]:
    """A run launched from the UI (so the UI can re-execute it) whose generated_tests step loses its worker
    process midway; returns the run and the worker that lost it. The module is edited first, as a new
    commit would be, so no cached generation from the production runs answers the step."""
    project = copy_demo(stack.base / "killed-project")
    module = project / "src" / "calculator" / "operations.py"
    module.write_text(module.read_text(encoding="utf-8") + "\n# edited after the production runs\n")
    run_id = _launch(team_dagster_dev, "calculator", project)
    worker = _wait_for(lambda: step_workers(instance, run_id).get(GENERATION), "generated_tests to start")
    time.sleep(2.0)  # well inside the step: CrossHair takes tens of seconds on this component
    stack.kill_pool_process(worker)
    team_dagster_dev.wait_for(
        "the killed run to end", lambda: _ended(team_dagster_dev, run_id), RUN_TIMEOUT_S
    )
    return run_id, worker


def test_both_example_specs_reach_a_healthy_production(
    production_runs: dict[str, CliRun], instance: dg.DagsterInstance
) -> None:
    for spec, run in production_runs.items():
        assert run.returncode == 0, run.output
        assert f"{spec}: succeeded" in run.output and "celery mode" in run.output, run.output
        production = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("production_deployment"), asset_partitions=[spec]),
            limit=1,
        ).records
        assert production and production[0].run_id == run.run_id, spec
        metadata = production[0].asset_materialization.metadata  # type: ignore[union-attr]
        assert metadata["healthy"].value is True, (spec, metadata)


def test_every_step_runs_on_a_celery_worker(
    production_runs: dict[str, CliRun], instance: dg.DagsterInstance
) -> None:
    for run in production_runs.values():
        workers = step_workers(instance, run.run_id)
        assert set(workers) == set(step_spans(instance, run.run_id)), workers
        assert set(workers.values()) <= {"worker-1", "worker-2"}, workers


def test_refactor_and_generation_run_on_different_workers_at_overlapping_times(
    production_runs: dict[str, CliRun], instance: dg.DagsterInstance
) -> None:
    """In at least one run (the pool may hold the other's generation back until its refactor is over)."""
    overlapping = []
    for run in production_runs.values():
        workers, spans = step_workers(instance, run.run_id), step_spans(instance, run.run_id)
        if (
            workers[GENERATION] != workers[REFACTOR]
            and peak_overlap([spans[GENERATION], spans[REFACTOR]]) == 2
        ):
            overlapping.append(run.spec)
    assert overlapping, {
        run.spec: (step_workers(instance, run.run_id), step_spans(instance, run.run_id))
        for run in production_runs.values()
    }


def test_the_openhands_pool_is_never_exceeded(
    production_runs: dict[str, CliRun], instance: dg.DagsterInstance
) -> None:
    """Two runs' generation steps, two idle-enough workers, one pool slot: one step at a time."""
    generation = [step_spans(instance, run.run_id)[GENERATION] for run in production_runs.values()]
    assert peak_overlap(generation) == POOL_LIMIT, generation


def test_the_runs_show_in_dagster_dev_on_the_same_postgres(
    production_runs: dict[str, CliRun], team_dagster_dev: DagsterDev
) -> None:
    for run in production_runs.values():
        shown = team_dagster_dev.graphql(_RUN_STATUS_QUERY, {"runId": run.run_id})["runOrError"]
        assert shown["__typename"] == "Run", shown
        assert (shown["status"], shown["jobName"]) == ("SUCCESS", "spec_to_production"), shown


def test_a_worker_killed_mid_step_fails_that_step_with_the_reason(
    killed_run: tuple[str, str], instance: dg.DagsterInstance
) -> None:
    run_id, worker = killed_run
    record = instance.get_run_by_id(run_id)
    assert record is not None and record.status == dg.DagsterRunStatus.FAILURE
    # What `spec2prod run` and the report say about a failed run: the stage, and the worker's fate.
    failures = [
        failure.line()
        for failure in run_failures(instance, run_id, "calculator")
        if failure.stage == GENERATION
    ]
    assert len(failures) == 1, run_failures(instance, run_id, "calculator")
    assert failures[0].startswith("WorkerLostError: Worker exited prematurely: signal 9 (SIGKILL)"), failures
    materialized = {
        record.asset_key.to_user_string()
        for record in instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        if record.asset_key is not None
    }
    assert GENERATION not in materialized and "release_candidate" not in materialized, materialized
    assert step_workers(instance, run_id)[GENERATION] == worker


def test_reexecution_from_failure_completes(
    killed_run: tuple[str, str], team_dagster_dev: DagsterDev
) -> None:
    """The killed worker's main process replaced its pool process, so both workers take steps again."""
    run_id, _ = killed_run
    launched = team_dagster_dev.graphql(
        _REEXECUTE, {"params": {"parentRunId": run_id, "strategy": "FROM_FAILURE"}}
    )["launchRunReexecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    child = launched["run"]["runId"]
    shown = team_dagster_dev.wait_for(
        "the re-execution to end", lambda: _ended(team_dagster_dev, child), RUN_TIMEOUT_S
    )
    assert shown["status"] == "SUCCESS", team_dagster_dev.log_tail()
    assert "spec_and_baseline" not in (shown["stepKeysToExecute"] or []), shown
    assert GENERATION in (shown["stepKeysToExecute"] or []), shown


def _launch(server: DagsterDev, spec: str, project: Path) -> str:
    """Launch `spec_to_production` for one spec the way the UI's launchpad does."""
    params = {
        "selector": {
            "repositoryLocationName": server.location_name,
            "repositoryName": "__repository__",
            "jobName": "spec_to_production",
        },
        "runConfigData": {
            "resources": {"project": {"config": {"root": str(project)}}},
            "execution": {
                "config": {
                    "broker": {"env": CELERY_BROKER_ENV},
                    "backend": {"env": CELERY_BROKER_ENV},
                    "config_source": CELERY_SETTINGS,
                }
            },
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": spec}]},
    }
    launched = server.graphql(_LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id: str = launched["run"]["runId"]
    return run_id


def _ended(server: DagsterDev, run_id: str) -> dict[str, Any] | None:
    shown: dict[str, Any] = server.graphql(_RUN_STATUS_QUERY, {"runId": run_id})["runOrError"]
    return shown if shown.get("status") in TERMINAL_STATUSES else None


def _spec2prod_run(project: Path, spec: str, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [str(Path(sys.executable).with_name("spec2prod")), "run", str(project / "specs" / f"{spec}.md")]
    return subprocess.Popen(
        command,
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _run_id_or_none(instance: dg.DagsterInstance, spec: str, project: Path) -> str | None:
    for run in instance.get_runs(dg.RunsFilter(tags={"dagster/partition": spec})):
        resources: Any = dict(run.run_config).get("resources", {})
        project_config = resources.get("project", {}).get("config", {})
        if project_config.get("root") == str(project):
            return run.run_id
    return None


def _run_id_of(instance: dg.DagsterInstance, spec: str, project: Path) -> str:
    run_id = _run_id_or_none(instance, spec, project)
    assert run_id is not None, f"no run of {spec} for {project}"
    return run_id


def _wait_for(probe: Callable[[], str | None], what: str, timeout_s: float = 180.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return str(value)
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
