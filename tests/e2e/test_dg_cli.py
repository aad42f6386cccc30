"""`dg`, Dagster's current command line, on this repository as a dg project ([tool.dg] in pyproject.toml):
`dg check defs` and `dg list defs` load the code location, and `dg launch --job ... --partition ...` runs
a job for a spec registered first on a fresh persistent $DAGSTER_HOME, the way CI would."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.cli_runs import registered_project, run_cli

pytestmark = pytest.mark.e2e

PARTITION = "calculator"
TELEMETRY_BANNER = "usage statistics"  # what Dagster prints when an instance has telemetry on


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(DAGSTER_HOME, project, env): a copy of the example with both specs registered."""
    return registered_project(tmp_path_factory.mktemp("dg"))


@pytest.fixture(scope="module")
def launched(registered: tuple[Path, Path, dict[str, str]]) -> subprocess.CompletedProcess[str]:
    """`dg launch --job spec_to_dev --partition calculator`, once, from the dg project (the checkout)."""
    _, _, env = registered
    return run_cli(["dg", "launch", "--job", "spec_to_dev", "--partition", PARTITION], cwd=REPO_ROOT, env=env)


@pytest.fixture
def instance(
    registered: tuple[Path, Path, dict[str, str]], launched: subprocess.CompletedProcess[str]
) -> Iterator[dg.DagsterInstance]:
    home, _, _ = registered
    with dg.DagsterInstance.from_config(str(home)) as opened:
        yield opened


def test_dg_launch_ran_the_job_once_for_the_partition_and_it_succeeded(instance: dg.DagsterInstance) -> None:
    [run] = instance.get_runs()

    assert run.job_name == "spec_to_dev"
    assert run.tags["dagster/partition"] == PARTITION
    assert run.status == dg.DagsterRunStatus.SUCCESS


def test_dg_launch_materialized_the_release_candidate_of_that_partition(instance: dg.DagsterInstance) -> None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("release_candidate"), asset_partitions=[PARTITION]),
        limit=5,
    ).records

    assert len(records) == 1


def test_dg_launch_worked_on_the_named_project_and_printed_no_telemetry_banner(
    registered: tuple[Path, Path, dict[str, str]], launched: subprocess.CompletedProcess[str]
) -> None:
    _, project, _ = registered

    assert (project / ".spec2prod" / PARTITION / "assets" / "release_candidate.json").is_file()
    assert TELEMETRY_BANNER not in launched.stdout + launched.stderr


def test_dg_check_defs_loads_the_code_location(registered: tuple[Path, Path, dict[str, str]]) -> None:
    _, _, env = registered

    checked = run_cli(["dg", "check", "defs"], cwd=REPO_ROOT, env=env)

    assert "All definitions loaded successfully." in checked.stdout + checked.stderr
    assert TELEMETRY_BANNER not in checked.stdout + checked.stderr


def test_dg_list_defs_shows_the_three_stage_jobs_and_both_sensors(
    registered: tuple[Path, Path, dict[str, str]],
) -> None:
    _, _, env = registered

    listed = json.loads(run_cli(["dg", "list", "defs", "--json"], cwd=REPO_ROOT, env=env).stdout)

    assert sorted(job["name"] for job in listed["jobs"]) == [
        "refresh_performance_history",
        "spec_to_dev",
        "spec_to_production",
        "spec_to_staging",
    ]
    assert sorted(sensor["name"] for sensor in listed["sensors"]) == [
        "performance_history_sensor",
        "spec_sensor",
    ]
