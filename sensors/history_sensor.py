"""The history sensor: after a workflow run ends, successful or failed, the performance history is
recomputed, so its page in the UI is never more than one tick behind the runs.

Why a sensor over run-status events and not an automation condition on `performance_history`:
- it fires when any workflow run ends, failed ones included, and the history decides what a run
  contributes (today: the runs that got as far as their report); an automation condition on
  `workflow_report` would only ever see the runs that materialized it;
- the history depends on every partition of `workflow_report`; `AutomationCondition.eager()` waits while
  any partition is missing or in progress, which with one partition per spec (a spec never run, another
  running) is most of the time;
- a burst of runs ending together (ten specs dropped at once) asks for one refresh, not ten: the history
  reads every run anyway, and each extra run would compete with the workflow runs being measured. For the
  same reason a refresh queues behind every workflow run (priority -1), and none is requested while one
  is still queued (it will read the runs that ended meanwhile when it starts).

Each tick reads the RUN_SUCCESS and RUN_FAILURE events after the cursor (the highest event storage id
read, which is monotonic across event types), keeps those of `spec_to_dev`, `spec_to_staging` and
`spec_to_production`, and requests one run of `refresh_performance_history` keyed by the newest run that
ended, so Dagster never refreshes twice for the same run, even after a lost cursor. A first tick (no
cursor) covers the runs the instance already holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import dagster as dg

from spec2prod_assets.pipeline.history import HISTORY_JOB, performance_history_job
from spec2prod_assets.pipeline.jobs import JOB_FOR_STAGE

WORKFLOW_JOBS = tuple(JOB_FOR_STAGE.values())
EndedEvent = Literal[dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE]
ENDED: dict[EndedEvent, str] = {
    dg.DagsterEventType.RUN_SUCCESS: "succeeded",
    dg.DagsterEventType.RUN_FAILURE: "failed",
}
# Refreshing is cheap (a few queries) but not urgent: a few seconds after a run ends is soon enough.
DEFAULT_INTERVAL_S = 10
# Run-status events are read newest first in pages of this size, until a page holds a workflow run (one
# refresh covers every older run, so older pages need not be read) or this many pages were read.
PAGE_SIZE = 100
MAX_PAGES = 10
AFTER_RUN_TAG = "spec2prod/after_run"
# The queued run coordinator starts higher priorities first (default 0): a refresh never takes a run slot
# from a queued workflow run, such as the tenth of ten specs dropped at once.
PRIORITY_TAG = "dagster/priority"
REFRESH_PRIORITY = "-1"
NOT_YET_STARTED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED]


@dataclass(frozen=True)
class EndedRun:
    storage_id: int  # of its RUN_SUCCESS / RUN_FAILURE event: the cursor's unit
    run_id: str
    job_name: str
    outcome: str  # "succeeded" or "failed"


@dataclass(frozen=True)
class EndedRuns:
    """What a tick read: workflow runs that ended, newest first, and the newest event it read of any job
    (the next cursor, so runs of other jobs are not read again either)."""

    runs: list[EndedRun]
    newest_storage_id: int | None


def ended_workflow_runs(
    instance: dg.DagsterInstance,
    after_storage_id: int | None,
    *,
    page_size: int = PAGE_SIZE,
    max_pages: int = MAX_PAGES,
) -> EndedRuns:
    """Workflow runs whose RUN_SUCCESS or RUN_FAILURE event came after `after_storage_id`.

    The job names are matched here, not in the query: filtering by `RunStatusChangeRecordsFilter.job_names`
    is an optional storage feature (Dagster's own run-status sensors check
    `supports_run_status_change_job_name_filter` and filter in memory otherwise), and the SQLite event log
    of 1.13 returned every job's runs with it set. A first tick (no cursor) reads only the newest pages,
    not the instance's whole past.
    """
    runs: list[EndedRun] = []
    newest = after_storage_id
    for event_type, outcome in ENDED.items():
        page_cursor: str | None = None
        for _ in range(max_pages):
            page = instance.fetch_run_status_changes(
                dg.RunStatusChangeRecordsFilter(event_type=event_type, after_storage_id=after_storage_id),
                limit=page_size,
                cursor=page_cursor,
            )
            found = [
                EndedRun(record.storage_id, record.run_id, record.event_log_entry.job_name or "", outcome)
                for record in page.records
                if record.event_log_entry.job_name in WORKFLOW_JOBS
            ]
            runs.extend(found)
            if page.records:
                newest = max(newest or 0, *(record.storage_id for record in page.records))
            if found or not page.has_more:
                break
            page_cursor = page.cursor
    return EndedRuns(sorted(runs, key=lambda run: run.storage_id, reverse=True), newest)


def refresh_request(ended: Sequence[EndedRun]) -> dg.RunRequest | None:
    """One refresh for everything that ended since the last tick, keyed by the newest run; None if nothing
    ended. `ended` is newest first, as `ended_workflow_runs` returns it."""
    if not ended:
        return None
    newest = ended[0]
    return dg.RunRequest(
        run_key=f"{HISTORY_JOB}:{newest.run_id}",
        job_name=HISTORY_JOB,
        tags={AFTER_RUN_TAG: newest.run_id, PRIORITY_TAG: REFRESH_PRIORITY},
    )


def queued_refresh(instance: dg.DagsterInstance) -> str | None:
    """The id of a refresh that has not started yet, if any: it reads the instance when it starts, so it
    already covers every run that ends before then, and a second one would only queue behind it."""
    waiting = instance.get_run_records(dg.RunsFilter(job_name=HISTORY_JOB, statuses=NOT_YET_STARTED), limit=1)
    return waiting[0].dagster_run.run_id if waiting else None


def read_cursor(cursor: str | None) -> tuple[int | None, str | None]:
    """The last storage id seen, and a problem to log if the cursor was not one (it then starts over,
    which costs at most one refresh: the run key still stops a second run for the same newest run)."""
    if cursor is None:
        return None, None
    try:
        return int(cursor), None
    except ValueError:
        return None, f"Ignoring an unreadable history sensor cursor {cursor[:80]!r}; starting over."


def build_history_sensor(
    minimum_interval_seconds: int = DEFAULT_INTERVAL_S,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
    *,
    name: str = "performance_history_sensor",
) -> dg.SensorDefinition:
    """The sensor, running by default so `dagster dev` keeps the history current without a click."""

    @dg.sensor(
        name=name,
        job=performance_history_job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=(
            f"Recomputes performance_history once after workflow runs ({', '.join(WORKFLOW_JOBS)}) "
            "succeed or fail; runs that end together share one refresh."
        ),
    )
    def _history_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        after, problem = read_cursor(context.cursor)
        if problem:
            context.log.warning(problem)
        read = ended_workflow_runs(context.instance, after)
        cursor = context.cursor if read.newest_storage_id is None else str(read.newest_storage_id)
        ended = read.runs
        request = refresh_request(ended)
        if request is None:
            return dg.SensorResult(skip_reason="No workflow run ended since the last refresh.", cursor=cursor)
        waiting = queued_refresh(context.instance)
        if waiting is not None:
            return dg.SensorResult(
                skip_reason=f"{len(ended)} workflow run(s) ended; refresh {waiting[:8]}, still queued, "
                "will include them.",
                cursor=cursor,
            )
        outcomes = ", ".join(f"{run.run_id[:8]} {run.job_name} {run.outcome}" for run in ended[:5])
        more = f" and {len(ended) - 5} more" if len(ended) > 5 else ""
        context.log.info(f"{len(ended)} workflow run(s) ended ({outcomes}{more}): refreshing the history.")
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return _history_sensor


history_sensor = build_history_sensor()
