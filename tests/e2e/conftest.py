"""One real `dagster dev` (webserver + daemon) shared by the end-to-end UI tests.

It runs the way a user starts it, from the repository root with `-m spec2prod_assets.definitions`, on a
free loopback port, with a fresh `DAGSTER_HOME` (the repository's dagster.yaml copied in) and a copy of
the bundled example as the watched project. The sensor targets `spec_to_dev` and ticks every few
seconds, so a spec written by a test turns into a finished run in about a minute.

The server is started once for this package's tests and stopped after the last of them, also when a
test fails: first the whole process group, then any descendant that left the group (CrossHair runs in
a session of its own).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from spec2prod_assets.pipeline.mutation_stage import MUTATION_BUDGET_ENV
from tests.conftest import MUTATION_OFF, REPO_ROOT, copy_demo
from tests.support.process_tree import stop_process_tree
from tests.support.services import free_port

UI_MUTATION_BUDGET_S = 30

SENSOR_JOB = "spec_to_dev"
SENSOR_INTERVAL_S = 3
START_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 300.0
DEV_JOB_ASSETS = frozenset(
    {"spec", "baseline_tests", "generated_tests", "refactored_code", "release_candidate", "workflow_report"}
)
TERMINAL_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})

_Value = TypeVar("_Value")

_RUNS_QUERY = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId status jobName creationTime tags { key value } } }
    ... on PythonError { message }
  }
}
"""
_RUN_ASSETS_QUERY = """
query RunAssets($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status assetMaterializations { assetKey { path } partition } }
    ... on PythonError { message }
  }
}
"""
_TICKS_QUERY = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 20) { status timestamp runIds skipReason } } }
    ... on PythonError { message }
  }
}
"""


@dataclass(frozen=True)
class Run:
    run_id: str
    status: str
    job_name: str
    created: float
    tags: dict[str, str]


@dataclass(frozen=True)
class Tick:
    status: str
    timestamp: float
    run_ids: list[str]
    skip_reason: str | None


@dataclass
class DagsterDev:
    """A running `dagster dev` and what the tests ask it, through its GraphQL API only."""

    base_url: str
    project_root: Path
    dagster_home: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    location_name: str = "spec2prod_assets.definitions"

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.base_url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30.0
        )
        assert response.status_code == 200, f"GraphQL answered {response.status_code}: {response.text[:2000]}"
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def runs(self, partition: str, job_name: str = SENSOR_JOB) -> list[Run]:
        """The partition's runs of `job_name`, oldest first."""
        filters = {"tags": [{"key": "dagster/partition", "value": partition}], "pipelineName": job_name}
        result = self.graphql(_RUNS_QUERY, {"filter": filters})["runsOrError"]
        assert result["__typename"] == "Runs", result
        runs = [
            Run(
                run_id=raw["runId"],
                status=raw["status"],
                job_name=raw["jobName"],
                created=float(raw["creationTime"]),
                tags={tag["key"]: tag["value"] for tag in raw["tags"]},
            )
            for raw in result["results"]
        ]
        return sorted(runs, key=lambda run: run.created)

    def materialized_assets(self, run_id: str) -> dict[str, str | None]:
        """`{asset name: partition}` for every materialization the run recorded."""
        result = self.graphql(_RUN_ASSETS_QUERY, {"runId": run_id})["runOrError"]
        assert result["__typename"] == "Run", result
        return {
            "/".join(event["assetKey"]["path"]): event["partition"]
            for event in result["assetMaterializations"]
        }

    def ticks(self, sensor_name: str = "spec_sensor") -> list[Tick]:
        """The sensor's latest ticks, newest first."""
        selector = {
            "repositoryLocationName": self.location_name,
            "repositoryName": "__repository__",
            "sensorName": sensor_name,
        }
        result = self.graphql(_TICKS_QUERY, {"selector": selector})["sensorOrError"]
        assert result["__typename"] == "Sensor", result
        return [
            Tick(raw["status"], float(raw["timestamp"]), raw["runIds"], raw["skipReason"])
            for raw in result["sensorState"]["ticks"]
        ]

    def wait_for_run(self, partition: str, *, count: int = 1, timeout_s: float = RUN_TIMEOUT_S) -> Run:
        """Wait until the partition has `count` runs and the newest has ended; returns that run."""

        def newest_finished() -> Run | None:
            runs = self.runs(partition)
            if len(runs) >= count and runs[-1].status in TERMINAL_STATUSES:
                return runs[-1]
            return None

        return self.wait_for(f"run #{count} of partition {partition!r} to end", newest_finished, timeout_s)

    def wait_for_ticks_after(self, moment: float, ticks: int = 2, timeout_s: float = 120.0) -> list[Tick]:
        """Wait until the sensor has completed `ticks` more ticks that started after `moment`."""

        def later_ticks() -> list[Tick] | None:
            done = [t for t in self.ticks() if t.timestamp > moment and t.status != "STARTED"]
            return done if len(done) >= ticks else None

        return self.wait_for(f"{ticks} sensor ticks", later_ticks, timeout_s)

    def wait_for(self, what: str, probe: Callable[[], _Value | None], timeout_s: float) -> _Value:
        deadline = time.monotonic() + timeout_s
        while True:
            self.assert_alive()
            value = probe()
            if value is not None:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}\n{self.log_tail()}")
            time.sleep(1.0)

    def assert_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"dagster dev exited with {self.process.returncode}\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "--- dagster dev log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])


def dagster_dev_env(dagster_home: Path, project_root: Path) -> dict[str, str]:
    """The caller's environment minus any SPEC2PROD_* that would steer the server elsewhere."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPEC2PROD_")}
    env |= MUTATION_OFF | {
        "DAGSTER_HOME": str(dagster_home),
        "SPEC2PROD_PROJECT_ROOT": str(project_root),
        "SPEC2PROD_SENSOR_JOB": SENSOR_JOB,
        "SPEC2PROD_SENSOR_INTERVAL_S": str(SENSOR_INTERVAL_S),
        "PYTHONUNBUFFERED": "1",
    }
    return env


@contextlib.contextmanager
def running_dagster_dev(
    base: Path, dagster_home: Path, project_root: Path, env: dict[str, str]
) -> Iterator[DagsterDev]:
    """`dagster dev` on a free 127.0.0.1 port with this home and environment, until the block ends."""
    port = free_port()
    log_path = base / "dagster_dev.log"
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-m", "spec2prod_assets.definitions", "-h", "127.0.0.1", "-p", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = DagsterDev(f"http://127.0.0.1:{port}", project_root, dagster_home, log_path, process)
    try:
        server.wait_for("GET /server_info", lambda: _server_info(server.base_url), START_TIMEOUT_S)
        yield server
    finally:
        stop_process_tree(process)


@pytest.fixture(scope="package")
def dagster_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    """`dagster dev` watching a fresh copy of the example, on the local profile; stopped at the end."""
    base = tmp_path_factory.mktemp("dagster_dev")
    dagster_home = base / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    project_root = copy_demo(base / "project")
    # Mutation testing on, at a small budget: the UI test shows the scores on release_candidate.
    env = dagster_dev_env(dagster_home, project_root) | {MUTATION_BUDGET_ENV: str(UI_MUTATION_BUDGET_S)}
    with running_dagster_dev(base, dagster_home, project_root, env) as server:
        yield server


def _server_info(base_url: str) -> dict[str, Any] | None:
    try:
        response = httpx.get(f"{base_url}/server_info", timeout=5.0)
    except httpx.TransportError:
        return None
    if response.status_code != 200:
        return None
    info: dict[str, Any] = json.loads(response.text)
    return info
