"""Reads of the Dagster instance: stage timings from a run's step events, the upstream steps of the asset
graph, the execution mode from the run config (or the profile's executor), and each asset's materialization
metadata."""

import time
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest
from dagster import AssetExecutionContext
from dagster._core.execution.retries import RetryMode  # an Executor must name one; dagster exports none

from spec2prod_assets.pipeline.executors import ASYNC_EXECUTION, SYNC_EXECUTION
from spec2prod_assets.pipeline.metadata import StageClock
from spec2prod_assets.pipeline.run_records import (
    NOT_STARTED,
    execution_mode_of,
    materialization_metadata,
    stage_outcomes,
    stage_records,
    stage_timings,
    upstream_steps,
)


@dg.asset
def first() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3, "label": "first"})


@dg.asset(deps=[first])
def second() -> None:
    return None


@pytest.mark.parametrize(
    ("run_config", "mode"),
    [
        ({"execution": SYNC_EXECUTION}, "sync"),
        ({"execution": ASYNC_EXECUTION}, "async"),
        ({}, "async"),
        ({"execution": {"config": {"multiprocess": {}}}}, "async"),
    ],
    ids=["in-process", "multiprocess", "job-default", "multiprocess-defaults"],
)
def test_execution_mode_of_a_run_config(run_config: dict[str, object], mode: str) -> None:
    assert execution_mode_of(run_config) == mode


@pytest.mark.parametrize("executor", ["celery", "k8s"])
def test_execution_mode_of_a_distributed_executors_run_is_the_executors_name(executor: str) -> None:
    """Its run config holds the executor's own block, which must not read as the local async mode."""
    run_config = {"execution": {"config": {"broker": {"env": "SPEC2PROD_CELERY_BROKER"}}}}
    assert execution_mode_of(run_config, executor) == executor


def test_execution_mode_of_the_local_executor_still_reads_the_run_config() -> None:
    assert execution_mode_of({"execution": SYNC_EXECUTION}, "multi_or_in_process_executor") == "sync"


def test_stage_timings_come_from_the_runs_step_events() -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize([first, second], instance=instance)
        stages = {s.stage: s for s in stage_timings(instance, result.run_id)}
        assert set(stages) == {"first", "second"}
        assert all(s.start <= s.end and s.status == "SUCCESS" for s in stages.values())
        assert stages["first"].end <= stages["second"].start
        assert [s.stage for s in stage_timings(instance, result.run_id, exclude=["second"])] == ["first"]


@dg.asset
def broken() -> None:
    raise RuntimeError("boom")


@dg.asset(deps=[broken])
def after_broken() -> None:
    return None


def test_stage_outcomes_say_what_each_stage_did_in_words() -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize([first, broken, after_broken], instance=instance, raise_on_error=False)
        steps = stage_outcomes(instance, result.run_id)
        assert {name: step.status for name, step in steps.items()} == {
            "first": "succeeded",
            "broken": "failed",
        }
        assert steps["first"].duration_s >= 0.0
        assert "after_broken" not in steps, "a step that never started has no record: NOT_STARTED stands in"
        assert NOT_STARTED.status == "skipped"


@dg.multi_asset(
    name="one_step",
    outs={name: dg.AssetOut(is_required=False) for name in ("made", "raised", "never")},
    check_specs=[dg.AssetCheckSpec("gate", asset="made", blocking=True)],
    can_subset=True,
)
def one_step(context: AssetExecutionContext) -> Iterator[dg.Output[int] | dg.AssetCheckResult]:
    """Three stages in one step: the first materializes (its gate failing when the run's tag asks), the
    second raises, the third never starts."""
    clock = StageClock.start()
    time.sleep(0.05)
    yield dg.Output(1, output_name="made", metadata=clock.metadata())
    yield dg.AssetCheckResult(
        asset_key="made", check_name="gate", passed=context.run.tags.get("gate") != "fail"
    )
    if context.run.tags.get("gate") == "fail":
        return
    raise RuntimeError("boom in the second stage")


ONE_STEP = {"one_step": ("made", "raised", "never")}


def _one_step_run(instance: dg.DagsterInstance, gate: str, selection: list[str] | None = None) -> str:
    result = dg.materialize(
        [one_step], instance=instance, tags={"gate": gate}, selection=selection, raise_on_error=False
    )
    return result.run_id


def test_a_stage_in_a_shared_step_is_timed_from_its_own_materialization() -> None:
    with dg.instance_for_test() as instance:
        run_id = _one_step_run(instance, "pass")
        [made, raised] = stage_records(instance, run_id, step_assets=ONE_STEP)
        assert (made.stage, made.status, raised.stage, raised.status) == (
            "made",
            "SUCCESS",
            "raised",
            "FAILURE",
        )
        assert made.duration_s >= 0.05
        assert made.end <= raised.start <= raised.end, "the failed stage runs from the end of the one before"
        outcomes = stage_outcomes(instance, run_id, step_assets=ONE_STEP)
        assert {name: o.status for name, o in outcomes.items()} == {"made": "succeeded", "raised": "failed"}


def test_a_stage_whose_blocking_check_failed_is_the_failed_one_of_its_step() -> None:
    with dg.instance_for_test() as instance:
        run_id = _one_step_run(instance, "fail")
        outcomes = stage_outcomes(instance, run_id, step_assets=ONE_STEP)
        assert {name: o.status for name, o in outcomes.items()} == {"made": "failed"}


def test_a_failed_step_fails_the_next_stage_the_run_selected_not_one_it_skipped() -> None:
    with dg.instance_for_test() as instance:
        run_id = _one_step_run(instance, "pass", selection=["made", "never"])
        outcomes = stage_outcomes(instance, run_id, selected=["made", "never"], step_assets=ONE_STEP)
        assert {name: o.status for name, o in outcomes.items()} == {"made": "succeeded", "never": "failed"}


def test_materialization_metadata_is_read_back_as_plain_values() -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize([first, second], instance=instance)
        metadata = materialization_metadata(instance, result.run_id)
        assert metadata["first"] == {"rows": 3, "label": "first"}
        assert set(metadata) == {"first", "second"}


def test_upstream_steps_follow_the_pipeline_graph() -> None:
    from spec2prod_assets.definitions import defs

    upstream = {
        name: set(parents) for name, parents in upstream_steps(defs.resolve_all_asset_specs()).items()
    }
    assert upstream["spec"] == set()
    assert upstream["baseline_tests"] == {"spec"}
    assert upstream["refactored_code"] == {"spec", "baseline_tests"}
    assert {"spec", "baseline_tests", "refactored_code"} <= upstream["workflow_report"]


def test_upstream_steps_match_dagsters_own_asset_graph() -> None:
    """The report's critical path walks these edges; they must be the ones Dagster schedules by."""
    from spec2prod_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    expected = {
        key.to_user_string(): {parent.to_user_string() for parent in graph.get(key).parent_keys}
        for key in graph.materializable_asset_keys
    }
    upstream = upstream_steps(defs.resolve_all_asset_specs())
    assert {name: set(parents) for name, parents in upstream.items()} == expected


class _WorkerDiesExecutor(dg.Executor):
    """What a Celery run sees when the worker process running its step is killed: the worker wrote the
    step's start to the instance and nothing more, and the executor fails the run."""

    @property
    def retries(self) -> RetryMode:
        return RetryMode.DISABLED

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[dg.DagsterEvent]:
        started = dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.STEP_START.value,
            job_name=plan_context.job_name,
            step_key="lost_step",
            message="Started execution of step on a worker.",
        )
        plan_context.instance.report_dagster_event(started, run_id=plan_context.run_id)
        yield started
        raise dg.DagsterSubprocessError(
            "During celery execution errors occurred in workers:\n"
            "[lost_step]: billiard.exceptions.WorkerLostError: Worker exited prematurely: signal 9 (SIGKILL)",
            subprocess_error_infos=[],
        )


@dg.executor(name="worker_dies")
def worker_dies(_: dg.InitExecutorContext) -> dg.Executor:
    return _WorkerDiesExecutor()


@dg.op
def lost_step() -> None:
    raise AssertionError("the worker died before running it")


@dg.job(executor_def=worker_dies)
def worker_died() -> None:
    lost_step()


def _worker_died() -> dg.JobDefinition:
    return worker_died


def test_a_step_still_in_progress_when_its_run_ended_failed_at_the_runs_end() -> None:
    with dg.instance_for_test() as instance:
        result = dg.execute_job(dg.reconstructable(_worker_died), instance=instance)
        assert not result.success
        [stat] = instance.get_run_step_stats(result.run_id)
        assert stat.status is not None
        assert (stat.step_key, stat.status.value, stat.end_time) == ("lost_step", "IN_PROGRESS", None)
        [record] = stage_records(instance, result.run_id)
        run_end = instance.get_run_stats(result.run_id).end_time
        assert (record.stage, record.status, record.end) == ("lost_step", "FAILURE", run_end)
        assert record.start == stat.start_time
        assert stage_outcomes(instance, result.run_id)["lost_step"].status == "failed"
