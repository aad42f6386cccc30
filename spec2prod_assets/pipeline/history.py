"""The performance history asset: the last N workflow runs' stage timings, read back from the instance,
as percentiles the UI plots and a Markdown table.

Where the numbers come from, and why there: each run's totals (mode, wall, critical path, overhead,
parallel savings) from its `workflow_report` materialization, and each stage's `duration_s` from that
stage's materialization in the same run. Materializations are per asset whatever the step layout, so
merging several assets into one step (a multi-asset) changes nothing here; step events would.

What triggers it is `sensors/history_sensor.py` (a run-status sensor, and why not an automation
condition, is said there); `refresh_performance_history` runs it in-process, because a single cheap step
is not worth a worker process.
"""

import time
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field

from spec2prod_assets.pipeline.jobs import PRODUCTION_STAGES
from spec2prod_assets.pipeline.metadata import seconds_since, table
from spec2prod_assets.pipeline.run_records import materialization_metadata
from spec2prod_assets.pipeline.stages import WORKFLOW_REPORT
from spec2prod_assets.report.history import RUN_MEASURES, RunTimings, run_rows, summarize_history

PERFORMANCE_HISTORY = "performance_history"
HISTORY_JOB = "refresh_performance_history"
DEFAULT_WINDOW_RUNS = 50
UNKNOWN_MODE = "unknown"
RUN_COLUMNS = dg.TableSchema(
    columns=[
        dg.TableColumn("run"),
        dg.TableColumn("spec"),
        dg.TableColumn("mode"),
        *(dg.TableColumn(measure, "float") for measure in RUN_MEASURES),
    ]
)


class PerformanceHistoryConfig(dg.Config):
    """How many of the most recent workflow runs the percentiles cover."""

    window_runs: int = Field(
        default=DEFAULT_WINDOW_RUNS,
        ge=1,
        description="The most recent workflow runs (one per workflow_report materialization) to summarize.",
    )


def recent_workflow_runs(instance: dg.DagsterInstance, limit: int) -> list[RunTimings]:
    """The `limit` most recent runs that materialized `workflow_report`, newest first, any spec.

    A run without a report (it failed before the last step) has no totals to compare, so it is not in
    the window, nor are its stages: every number in the summary rests on the same runs.
    """
    reports = instance.fetch_materializations(dg.AssetKey(WORKFLOW_REPORT), limit=limit).records
    runs = []
    for record in reports:
        materialization = record.asset_materialization
        if materialization is None:
            continue
        report = _plain(materialization.metadata)
        in_run = materialization_metadata(instance, record.run_id)
        runs.append(
            RunTimings(
                run_id=record.run_id,
                finished_at=record.timestamp,
                partition=record.partition_key,
                execution_mode=str(report.get("execution_mode") or UNKNOWN_MODE),
                **{measure: _seconds(report.get(measure)) for measure in RUN_MEASURES},
                stage_durations={
                    asset: seconds
                    for asset, metadata in in_run.items()
                    if asset not in (WORKFLOW_REPORT, PERFORMANCE_HISTORY)
                    and (seconds := _seconds(metadata.get("duration_s"))) is not None
                },
            )
        )
    return runs


@dg.asset(
    name=PERFORMANCE_HISTORY,
    group_name="report",
    kinds={"pandas"},
    deps=[dg.AssetKey(WORKFLOW_REPORT)],
    description=(
        "p50/p95 of each stage's duration, the overhead and the parallel savings per execution mode over "
        "the last N workflow runs, read from the instance; refreshed after every workflow run."
    ),
)
def performance_history(
    context: dg.AssetExecutionContext, config: PerformanceHistoryConfig
) -> dg.MaterializeResult:
    started = time.perf_counter()
    runs = recent_workflow_runs(context.instance, config.window_runs)
    history = summarize_history(runs, stage_order=PRODUCTION_STAGES)
    context.log.info(
        "Summarized %d workflow runs (window %d) over %d spec(s)",
        history.runs_counted,
        config.window_runs,
        history.specs_counted,
    )
    return dg.MaterializeResult(
        metadata={
            **history.metrics(),
            "window_runs": config.window_runs,
            "summary": dg.MetadataValue.md(history.markdown()),
            "runs": table(RUN_COLUMNS, run_rows(runs)),
            "duration_s": seconds_since(started),
        }
    )


performance_history_job = dg.define_asset_job(
    name=HISTORY_JOB,
    selection=dg.AssetSelection.assets(PERFORMANCE_HISTORY),
    executor_def=dg.in_process_executor,
    description="Recomputes the performance history from the instance (the history sensor requests it).",
)


def _plain(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata values unwrapped (`FloatMetadataValue(1.5)` -> 1.5), the way `run_records` reads them."""
    return {key: getattr(value, "value", value) for key, value in metadata.items()}


def _seconds(value: object) -> float | None:
    """A duration if `value` is a number; anything else (text, a table, a missing key) is no duration."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
