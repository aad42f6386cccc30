"""What a finished (or failing) run left on the Dagster instance, read back as plain values.

Stage timings come from the run's own step events, not from clocks in our code, so they are the same
whether a stage ran in-process or in a subprocess. `report/timings.py` does the arithmetic on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from spec2prod_assets.report.timings import ExecutionMode, StageTiming

_STEP_STATUS = {"SUCCESS": "succeeded", "FAILURE": "failed", "SKIPPED": "skipped", "IN_PROGRESS": "running"}


@dataclass(frozen=True)
class StepOutcome:
    """A step's status in words ("succeeded", "failed", "skipped", "running") and its duration."""

    status: str
    duration_s: float


NOT_STARTED = StepOutcome(status="skipped", duration_s=0.0)


def stage_timings(
    instance: dg.DagsterInstance, run_id: str, *, exclude: Sequence[str] = ()
) -> list[StageTiming]:
    """Finished steps of `run_id`: start and end (epoch seconds) and how long each took to launch."""
    launches = step_launch_times(instance, run_id)
    return [
        StageTiming(
            stage=stat.step_key,
            start=stat.start_time,
            end=stat.end_time,
            status=stat.status.value if stat.status else "unknown",
            launch_s=launches.get(stat.step_key, 0.0),
        )
        for stat in instance.get_run_step_stats(run_id)
        if stat.start_time is not None and stat.end_time is not None and stat.step_key not in exclude
    ]


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


def step_outcomes(instance: dg.DagsterInstance, run_id: str) -> dict[str, StepOutcome]:
    """Every step `run_id` has events for; a step missing here never started (`NOT_STARTED`)."""
    outcomes = {}
    for stat in instance.get_run_step_stats(run_id):
        status = _STEP_STATUS.get(str(stat.status.value), "unknown") if stat.status else NOT_STARTED.status
        duration = stat.end_time - stat.start_time if stat.end_time and stat.start_time else 0.0
        outcomes[stat.step_key] = StepOutcome(status=status, duration_s=round(duration, 3))
    return outcomes


def upstream_steps(asset_specs: Iterable[dg.AssetSpec]) -> dict[str, list[str]]:
    """Each asset's upstream assets by name; an asset's step key is its name in this project."""
    return {
        spec.key.to_user_string(): [dep.asset_key.to_user_string() for dep in spec.deps]
        for spec in asset_specs
    }


def execution_mode_of(run_config: Mapping[str, object]) -> ExecutionMode:
    """'sync' when the run asked for the in-process executor, else 'async' (multiprocess)."""
    execution = run_config.get("execution")
    config = execution.get("config") if isinstance(execution, Mapping) else None
    return "sync" if isinstance(config, Mapping) and "in_process" in config else "async"


def materialization_metadata(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, Any]]:
    """Each asset's materialization metadata in this run, as plain values."""
    found: dict[str, dict[str, Any]] = {}
    for record in instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is None:
            continue
        found[materialization.asset_key.to_user_string()] = {
            key: getattr(value, "value", value) for key, value in materialization.metadata.items()
        }
    return found
