"""The repository's dagster.yaml (what `make run` / `make dev` copy into $DAGSTER_HOME) is read by Dagster
the way it is meant: runs go through the queued coordinator with a bounded number at once, one run per
spec at a time, and the `openhands` pool keeps its limit.

Each test builds an instance from a copy of the shipped file and asks Dagster what it understood, so a
misspelled or misplaced key (which Dagster would silently replace by a default) fails here.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from tests.conftest import REPO_ROOT

SHIPPED = REPO_ROOT / "dagster.yaml"


@pytest.fixture
def shipped() -> dict[str, Any]:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    shutil.copy(SHIPPED, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as loaded:
        yield loaded


def test_runs_are_started_by_the_queued_run_coordinator(instance: dg.DagsterInstance) -> None:
    assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)


def test_a_queued_run_is_looked_at_more_often_than_dagsters_default_five_seconds(
    instance: dg.DagsterInstance, shipped: dict[str, Any]
) -> None:
    coordinator = instance.run_coordinator
    assert isinstance(coordinator, dg.QueuedRunCoordinator)
    configured = shipped["run_coordinator"]["config"]["dequeue_interval_seconds"]
    assert coordinator.dequeue_interval_seconds == configured < 5


def test_the_run_limit_dagster_applies_is_the_one_the_file_sets(
    instance: dg.DagsterInstance, shipped: dict[str, Any]
) -> None:
    queue = instance.get_concurrency_config().run_queue_config
    assert queue is not None
    assert queue.max_concurrent_runs == shipped["concurrency"]["runs"]["max_concurrent_runs"]
    assert queue.max_concurrent_runs >= 1  # -1 would mean no limit, 0 would start nothing


def test_two_runs_of_one_spec_never_run_at_once(instance: dg.DagsterInstance) -> None:
    queue = instance.get_concurrency_config().run_queue_config
    assert queue is not None
    per_spec = [limit for limit in queue.tag_concurrency_limits if limit["key"] == "dagster/partition"]
    assert per_spec == [{"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]


def test_the_openhands_pool_limit_is_the_one_the_file_sets(
    instance: dg.DagsterInstance, shipped: dict[str, Any]
) -> None:
    pools = instance.get_concurrency_config().pool_config
    limit = pools.default_pool_limit
    assert limit == shipped["concurrency"]["pools"]["default_limit"]
    assert limit is not None and limit >= 1
