"""What a finished (or failing) run left on the Dagster instance, read back as plain values.

Stage timings come from the run's own events (steps, materializations, checks), so they are the same
whether a stage ran in-process or in a subprocess; a stage that shares its step with others adds the wall
clock time it started at to its materialization. `report/timings.py` does the arithmetic on them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from spec2prod_assets.pipeline.metadata import STARTED_AT
from spec2prod_assets.pipeline.stages import STEP_ASSETS
from spec2prod_assets.report.timings import ExecutionMode, StageTiming

_STATUS_WORDS = {"SUCCESS": "succeeded", "FAILURE": "failed", "RUNNING": "running"}


@dataclass(frozen=True)
class StepOutcome:
    """A step's status in words ("succeeded", "failed", "skipped", "running") and its duration."""

    status: str
    duration_s: float


NOT_STARTED = StepOutcome(status="skipped", duration_s=0.0)


@dataclass(frozen=True)
class _Materialized:
    end: float
    started_at: float | None
    duration_s: float | None


def stage_records(
    instance: dg.DagsterInstance,
    run_id: str,
    *,
    selected: Collection[str] | None = None,
    step_assets: Mapping[str, Sequence[str]] = STEP_ASSETS,
) -> list[StageTiming]:
    """Every stage of `run_id` that ran or is running, in step order, as a `StageTiming` whose status is
    SUCCESS, FAILURE or RUNNING.

    A step may run several stages (`stages.STEP_ASSETS`), so a stage's times come from its own
    materialization (its `started_at` metadata, the event's time). A stage that did not materialize
    because its step failed (or is still running) is the first selected stage of the step with no
    materialization; it runs from the end of the stage before it to the end of the step. A materialized
    stage whose blocking check failed is a failed stage. The step's launch time goes to its first stage,
    the one that paid for it. `selected` names the stages the run selected (default: every stage);
    `step_assets` the stages of each step, in order (a step missing there is one stage of its own name).
    """
    launches = step_launch_times(instance, run_id)
    # A step still "in progress" in a run that is over never ended: its worker died (a killed Celery worker
    # process sends no step event). It failed, at the run's end.
    run_end = instance.get_run_stats(run_id).end_time
    materialized = _materializations(instance, run_id)
    failed_checks = _assets_with_failed_checks(instance, run_id)
    records: list[StageTiming] = []
    for stat in instance.get_run_step_stats(run_id):
        if stat.start_time is None:
            continue
        step_status = stat.status.value if stat.status else "IN_PROGRESS"
        end_time = stat.end_time
        if step_status == "IN_PROGRESS" and run_end is not None:
            step_status, end_time = "FAILURE", max(run_end, stat.start_time)
        stages = [
            s for s in step_assets.get(stat.step_key, (stat.step_key,)) if selected is None or s in selected
        ]
        cursor, blamed, launch = stat.start_time, False, launches.get(stat.step_key, 0.0)
        for stage in stages:
            found = materialized.get(stage)
            if found is not None:
                start = (
                    found.started_at
                    if found.started_at is not None
                    else found.end - (found.duration_s or 0.0)
                )
                status = "FAILURE" if stage in failed_checks else "SUCCESS"
                records.append(
                    StageTiming(stage=stage, start=start, end=found.end, status=status, launch_s=launch)
                )
                cursor, launch = found.end, 0.0
                blamed = blamed or stage in failed_checks
            elif not blamed and step_status != "SUCCESS":
                if step_status == "FAILURE" and end_time is not None:
                    records.append(
                        StageTiming(
                            stage=stage, start=cursor, end=end_time, status="FAILURE", launch_s=launch
                        )
                    )
                elif step_status == "IN_PROGRESS":
                    records.append(
                        StageTiming(stage=stage, start=cursor, end=cursor, status="RUNNING", launch_s=launch)
                    )
                blamed = True
            elif step_status == "SUCCESS" and len(stages) == 1 and stat.end_time is not None:
                # A one-asset step with no materialization (an asset returning None): the step is the stage.
                records.append(
                    StageTiming(
                        stage=stage,
                        start=stat.start_time,
                        end=stat.end_time,
                        status="SUCCESS",
                        launch_s=launch,
                    )
                )
    return records


def stage_timings(
    instance: dg.DagsterInstance,
    run_id: str,
    *,
    exclude: Sequence[str] = (),
    selected: Collection[str] | None = None,
) -> list[StageTiming]:
    """The stages of `run_id` that ended, succeeded or failed: the timeline `report.timings` summarizes."""
    return ended_stages(stage_records(instance, run_id, selected=selected), exclude=exclude)


def stage_outcomes(
    instance: dg.DagsterInstance,
    run_id: str,
    *,
    selected: Collection[str] | None = None,
    step_assets: Mapping[str, Sequence[str]] = STEP_ASSETS,
) -> dict[str, StepOutcome]:
    """Each stage that ran, failed or is running, in words; a stage missing here never started."""
    return outcomes_in_words(stage_records(instance, run_id, selected=selected, step_assets=step_assets))


def ended_stages(records: Iterable[StageTiming], *, exclude: Sequence[str] = ()) -> list[StageTiming]:
    """`stage_records` without the stages still running or in `exclude`."""
    return [record for record in records if record.status != "RUNNING" and record.stage not in exclude]


def outcomes_in_words(records: Iterable[StageTiming]) -> dict[str, StepOutcome]:
    """`stage_records` as each stage's status in words and its duration."""
    return {
        record.stage: StepOutcome(
            status=_STATUS_WORDS.get(record.status, "unknown"), duration_s=round(record.duration_s, 3)
        )
        for record in records
    }


def _run_materializations(
    instance: dg.DagsterInstance, run_id: str
) -> Iterator[tuple[dg.EventLogEntry, dg.AssetMaterialization]]:
    """Each materialization of `run_id`, in order, with the event that carried it (and its time)."""
    for record in instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is not None:
            yield record.event_log_entry, materialization


def _materializations(instance: dg.DagsterInstance, run_id: str) -> dict[str, _Materialized]:
    found: dict[str, _Materialized] = {}
    for entry, materialization in _run_materializations(instance, run_id):
        metadata = materialization.metadata
        started = metadata.get(STARTED_AT)
        duration = metadata.get("duration_s")
        found[materialization.asset_key.to_user_string()] = _Materialized(
            end=entry.timestamp,
            started_at=float(started.value) if isinstance(started, dg.TimestampMetadataValue) else None,
            duration_s=duration.value if isinstance(duration, dg.FloatMetadataValue) else None,
        )
    return found


def _assets_with_failed_checks(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    failed = set()
    for record in instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event is not None else None
        if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed:
            failed.add(evaluation.asset_key.to_user_string())
    return failed


def step_launch_times(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Seconds from a step's worker starting to the step starting, per step: the price of a step boundary
    under the multiprocess executor (a new process, imports, the instance). In-process steps have no
    worker, so they are absent (they launch for free)."""
    kinds = {dg.DagsterEventType.STEP_WORKER_STARTING, dg.DagsterEventType.STEP_START}
    first: dict[tuple[str, str], float] = {}
    for record in instance.get_records_for_run(run_id, of_type=kinds).records:
        entry = record.event_log_entry
        if entry.step_key is None or entry.dagster_event is None:
            continue
        first.setdefault((entry.step_key, entry.dagster_event.event_type_value), entry.timestamp)
    starting, started = dg.DagsterEventType.STEP_WORKER_STARTING.value, dg.DagsterEventType.STEP_START.value
    return {
        step: round(max(0.0, first[(step, started)] - at), 3)
        for (step, kind), at in first.items()
        if kind == starting and (step, started) in first
    }


def upstream_steps(asset_specs: Iterable[dg.AssetSpec]) -> dict[str, list[str]]:
    """Each asset's upstream assets by name; an asset's step key is its name in this project."""
    return {
        spec.key.to_user_string(): [dep.asset_key.to_user_string() for dep in spec.deps]
        for spec in asset_specs
    }


def execution_mode_of(run_config: Mapping[str, object], executor_name: str = "") -> ExecutionMode:
    """The distributed executor's name (celery, k8s) for the team and cluster profiles; on the local one
    'sync' when the run asked for the in-process executor, else 'async' (multiprocess)."""
    if executor_name == "celery":
        return "celery"
    if executor_name == "k8s":
        return "k8s"
    execution = run_config.get("execution")
    config = execution.get("config") if isinstance(execution, Mapping) else None
    return "sync" if isinstance(config, Mapping) and "in_process" in config else "async"


def materialization_metadata(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, Any]]:
    """Each asset's materialization metadata in this run, as plain values."""
    found: dict[str, dict[str, Any]] = {}
    for _, materialization in _run_materializations(instance, run_id):
        found[materialization.asset_key.to_user_string()] = {
            key: getattr(value, "value", value) for key, value in materialization.metadata.items()
        }
    return found
