"""The history sensor, one scenario per test, the way the daemon calls it: each tick builds a sensor
context on a real (temporary) instance with the previous tick's cursor.

Workflow runs are stand-in jobs that carry the workflow jobs' names: the sensor only sees a run's name and
how it ended, and a one-op job ends in milliseconds where the real pipeline takes a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import dagster as dg
import pytest

from sensors.history_sensor import (
    AFTER_RUN_TAG,
    PRIORITY_TAG,
    REFRESH_PRIORITY,
    build_history_sensor,
    ended_workflow_runs,
    history_sensor,
)
from spec2prod_assets.pipeline.history import HISTORY_JOB, PERFORMANCE_HISTORY
from spec2prod_assets.pipeline.jobs import SPEC_TO_DEV, SPEC_TO_PRODUCTION, SPEC_TO_STAGING
from tests.sensors.test_spec_sensor import _Collect as CollectLogs


def stand_in_job(name: str, *, fails: bool = False) -> dg.JobDefinition:
    @dg.op(name=f"{name}_work")
    def work() -> None:
        if fails:
            raise RuntimeError("the stage failed")

    @dg.job(name=name)
    def _job() -> None:
        work()

    return _job


@dataclass
class Instance:
    """An instance plus the sensor's cursor; `finish` ends a run, `tick` runs the sensor like the daemon."""

    instance: dg.DagsterInstance
    cursor: str | None = None
    logs: list[tuple[str, str]] = field(default_factory=list)

    def finish(self, job_name: str, *, fails: bool = False) -> str:
        result = stand_in_job(job_name, fails=fails).execute_in_process(
            instance=self.instance, raise_on_error=False
        )
        assert result.success is not fails
        return result.run_id

    def tick(self, sensor: dg.SensorDefinition = history_sensor) -> dg.SensorResult:
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor)
        collector = CollectLogs()
        context.log.addHandler(collector)
        result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        self.logs.extend(collector.records)
        self.cursor = result.cursor
        return result


@pytest.fixture
def workflow() -> Iterator[Instance]:
    # In memory: the same event APIs as `instance_for_test`'s SQLite, seconds less per test.
    with dg.DagsterInstance.ephemeral() as instance:
        yield Instance(instance)


def run_keys(result: dg.SensorResult) -> list[str | None]:
    return [request.run_key for request in result.run_requests or []]


def test_no_finished_run_skips_and_keeps_the_cursor(workflow: Instance) -> None:
    result = workflow.tick()
    assert not result.run_requests
    assert result.skip_reason is not None
    assert "No workflow run ended" in (result.skip_reason.skip_message or "")
    assert result.cursor is None


def test_a_successful_run_requests_one_refresh_keyed_by_the_run(workflow: Instance) -> None:
    run_id = workflow.finish(SPEC_TO_PRODUCTION)

    result = workflow.tick()

    (request,) = result.run_requests or []
    assert request.job_name == HISTORY_JOB
    assert request.run_key == f"{HISTORY_JOB}:{run_id}"
    assert request.tags[AFTER_RUN_TAG] == run_id
    assert request.tags[PRIORITY_TAG] == REFRESH_PRIORITY  # behind queued workflow runs


def test_a_failed_run_requests_a_refresh_too(workflow: Instance) -> None:
    run_id = workflow.finish(SPEC_TO_STAGING, fails=True)

    assert run_keys(workflow.tick()) == [f"{HISTORY_JOB}:{run_id}"]
    assert any(f"{SPEC_TO_STAGING} failed" in message for _, message in workflow.logs)


def test_the_next_tick_does_not_refresh_again_for_the_same_run(workflow: Instance) -> None:
    workflow.finish(SPEC_TO_DEV)
    workflow.tick()

    assert not workflow.tick().run_requests


def test_each_later_run_gets_its_own_refresh(workflow: Instance) -> None:
    first = workflow.finish(SPEC_TO_DEV)
    first_keys = run_keys(workflow.tick())
    second = workflow.finish(SPEC_TO_DEV)

    assert first_keys + run_keys(workflow.tick()) == [f"{HISTORY_JOB}:{first}", f"{HISTORY_JOB}:{second}"]


def test_runs_ending_between_two_ticks_share_one_refresh_keyed_by_the_newest(workflow: Instance) -> None:
    workflow.finish(SPEC_TO_DEV)
    workflow.finish(SPEC_TO_STAGING, fails=True)
    newest = workflow.finish(SPEC_TO_PRODUCTION)

    assert run_keys(workflow.tick()) == [f"{HISTORY_JOB}:{newest}"]
    assert any("3 workflow run(s) ended" in message for _, message in workflow.logs)


@pytest.mark.parametrize("job_name", [HISTORY_JOB, "some_other_job"])
def test_runs_of_other_jobs_do_not_refresh(workflow: Instance, job_name: str) -> None:
    workflow.finish(job_name)

    result = workflow.tick()

    assert not result.run_requests
    assert result.cursor is not None  # read once, not again on every tick


def test_a_workflow_run_behind_a_page_of_other_runs_is_still_found(workflow: Instance) -> None:
    older = workflow.finish(SPEC_TO_DEV)
    workflow.finish("some_other_job")
    workflow.finish("yet_another_job")

    read = ended_workflow_runs(workflow.instance, None, page_size=1)

    assert [run.run_id for run in read.runs] == [older]
    assert read.newest_storage_id is not None and read.newest_storage_id > read.runs[0].storage_id


def test_no_second_refresh_while_one_is_still_queued(workflow: Instance) -> None:
    # NOT_STARTED: a QUEUED run needs a code location origin; the sensor treats both the same.
    queued = workflow.instance.create_run_for_job(
        stand_in_job(HISTORY_JOB), status=dg.DagsterRunStatus.NOT_STARTED
    )
    workflow.finish(SPEC_TO_DEV)

    result = workflow.tick()

    assert not result.run_requests
    assert result.skip_reason is not None
    assert queued.run_id[:8] in (result.skip_reason.skip_message or "")
    assert result.cursor is not None  # the queued refresh covers this run: not read again


def test_an_unreadable_cursor_is_reported_and_the_sensor_starts_over(workflow: Instance) -> None:
    run_id = workflow.finish(SPEC_TO_DEV)
    workflow.cursor = "not a storage id"

    assert run_keys(workflow.tick()) == [f"{HISTORY_JOB}:{run_id}"]
    assert any(level == "WARNING" and "unreadable" in message for level, message in workflow.logs)


def test_the_sensor_targets_the_history_job_and_runs_by_default() -> None:
    sensor = build_history_sensor(minimum_interval_seconds=3)
    assert sensor.job_name == HISTORY_JOB
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 3


def test_the_code_location_registers_the_sensor_its_job_and_the_asset() -> None:
    from spec2prod_assets.definitions import defs

    assert defs.resolve_sensor_def(history_sensor.name).job_name == HISTORY_JOB
    assert (
        dg.AssetKey(PERFORMANCE_HISTORY)
        in defs.resolve_job_def(HISTORY_JOB).asset_layer.executable_asset_keys
    )
