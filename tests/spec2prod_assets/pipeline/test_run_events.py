"""`RunReader` on a run that failed outside any step: the executor itself raised, as dagster-celery's does
when a worker process dies under a step (the worker sends no step event; the executor lists the lost steps
in its own error). A lost step is a failure of its stage; any other executor error is the run's.

The runs are real: a job whose executor raises the error, run by Dagster on a test instance, its events
read back from the instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster._core.execution.retries import RetryMode  # an Executor must name one; dagster exports none

from spec2prod_assets.pipeline.jobs import JOB_STAGES, SPEC_TO_DEV
from spec2prod_assets.pipeline.run_events import FOLLOWED, RunReader
from spec2prod_assets.report.run_result import StageFailure

# What dagster-celery raises when the worker process running `generated_tests` was killed.
WORKER_LOST = (
    "During celery execution errors occurred in workers:\n"
    "[generated_tests]: billiard.exceptions.WorkerLostError: Worker exited prematurely: "
    "signal 9 (SIGKILL) Job: 1."
)


class _RaisingExecutor(dg.Executor):
    """Fails the run before any step starts, with the error its config names."""

    def __init__(self, worker_lost: bool) -> None:
        self._worker_lost = worker_lost

    @property
    def retries(self) -> RetryMode:
        return RetryMode.DISABLED

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[dg.DagsterEvent]:
        if self._worker_lost:
            raise dg.DagsterSubprocessError(WORKER_LOST, subprocess_error_infos=[])
        raise RuntimeError("the broker is unreachable\nand a second line")
        yield  # a generator, as Dagster expects of an executor


@dg.executor(name="raising", config_schema={"worker_lost": bool})
def raising_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    return _RaisingExecutor(bool(init_context.executor_config["worker_lost"]))


@dg.op
def never_runs() -> None:
    return None


@dg.job(executor_def=raising_executor)
def failing_run() -> None:
    never_runs()


def _failing_run() -> dg.JobDefinition:
    return failing_run


def _failures(worker_lost: bool) -> list[StageFailure]:
    """Run the job on a test instance and read its events with the reader `spec_to_dev` runs get."""
    with dg.instance_for_test() as instance:
        result = dg.execute_job(
            dg.reconstructable(_failing_run),
            instance=instance,
            run_config={"execution": {"config": {"worker_lost": worker_lost}}},
        )
        assert not result.success
        reader = RunReader("calculator", JOB_STAGES[SPEC_TO_DEV])
        records = instance.get_records_for_run(result.run_id, of_type=FOLLOWED).records
        kinds = {record.event_log_entry.dagster_event_type for record in records}
        assert dg.DagsterEventType.RUN_FAILURE in kinds and dg.DagsterEventType.STEP_FAILURE not in kinds
        for record in records:
            reader.see(record.event_log_entry)
        return reader.failures


def test_a_step_whose_celery_worker_died_is_a_failure_of_that_stage() -> None:
    assert _failures(worker_lost=True) == [
        StageFailure(
            stage="generated_tests",
            error="WorkerLostError",
            message="Worker exited prematurely: signal 9 (SIGKILL) Job: 1.",
        )
    ]


def test_any_other_executor_error_is_the_runs_with_its_class_and_first_line() -> None:
    assert _failures(worker_lost=False) == [
        StageFailure(stage="run", error="RuntimeError", message="the broker is unreachable")
    ]
