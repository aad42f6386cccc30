"""Stage timings of one run, read from the Dagster instance, and what they say about parallelism.

The numbers come from the run's own step events (start and end of every step), not from clocks in
our code, so they are the same whether a stage ran in-process or in a subprocess.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import dagster as dg
import pandas as pd
from pydantic import BaseModel, ConfigDict

from spec2prod_assets.storage.atomic_files import write_text_atomically

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

ExecutionMode = Literal["async", "sync"]


class StageTiming(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str
    start: float
    end: float
    status: str

    @property
    def duration_s(self) -> float:
        return self.end - self.start


class TimingSummary(BaseModel):
    """The whole run in five numbers plus one row per stage."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    execution_mode: ExecutionMode
    wall_s: float
    sum_stage_s: float
    critical_path_s: float
    parallel_savings_s: float
    critical_path: tuple[str, ...]
    stages: tuple[StageTiming, ...]

    def table(self) -> pd.DataFrame:
        origin = min((s.start for s in self.stages), default=0.0)
        return pd.DataFrame(
            [
                {
                    "stage": s.stage,
                    "status": s.status,
                    "start_s": round(s.start - origin, 3),
                    "end_s": round(s.end - origin, 3),
                    "duration_s": round(s.duration_s, 3),
                    "on_critical_path": s.stage in self.critical_path,
                }
                for s in sorted(self.stages, key=lambda s: s.start)
            ],
            columns=["stage", "status", "start_s", "end_s", "duration_s", "on_critical_path"],
        )


def execution_mode_of(run_config: Mapping[str, object]) -> ExecutionMode:
    """'sync' when the run asked for the in-process executor, else 'async' (multiprocess)."""
    execution = run_config.get("execution")
    config = execution.get("config") if isinstance(execution, Mapping) else None
    return "sync" if isinstance(config, Mapping) and "in_process" in config else "async"


def stage_timings(
    instance: dg.DagsterInstance, run_id: str, *, exclude: Sequence[str] = ()
) -> list[StageTiming]:
    """Finished steps of `run_id` with their start and end (epoch seconds)."""
    return [
        StageTiming(
            stage=stat.step_key,
            start=stat.start_time,
            end=stat.end_time,
            status=stat.status.value if stat.status else "unknown",
        )
        for stat in instance.get_run_step_stats(run_id)
        if stat.start_time is not None and stat.end_time is not None and stat.step_key not in exclude
    ]


def summarize(
    run_id: str,
    stages: Sequence[StageTiming],
    upstream: Mapping[str, Sequence[str]],
    execution_mode: ExecutionMode,
) -> TimingSummary:
    """Wall time is first start to last end; the savings are the stage time that overlapped other stages.

    Savings are measured as the sum of stage durations minus the time at least one stage was running,
    so the gaps an executor leaves between steps (process start-up) do not hide real overlap.
    """
    if not stages:
        return TimingSummary(
            run_id=run_id,
            execution_mode=execution_mode,
            wall_s=0.0,
            sum_stage_s=0.0,
            critical_path_s=0.0,
            parallel_savings_s=0.0,
            critical_path=(),
            stages=(),
        )
    wall = max(s.end for s in stages) - min(s.start for s in stages)
    total = sum(s.duration_s for s in stages)
    path, path_s = critical_path(stages, upstream)
    return TimingSummary(
        run_id=run_id,
        execution_mode=execution_mode,
        wall_s=round(wall, 3),
        sum_stage_s=round(total, 3),
        critical_path_s=round(path_s, 3),
        parallel_savings_s=round(max(0.0, total - busy_time(stages)), 3),
        critical_path=tuple(path),
        stages=tuple(stages),
    )


def busy_time(stages: Sequence[StageTiming]) -> float:
    """Seconds during which at least one stage was running (the union of their intervals)."""
    busy, reach = 0.0, float("-inf")
    for stage in sorted(stages, key=lambda s: s.start):
        if stage.end > reach:
            busy += stage.end - max(stage.start, reach)
            reach = stage.end
    return busy


def upstream_steps(asset_graph: BaseAssetGraph) -> dict[str, list[str]]:
    """Each asset's upstream assets by name; an asset's step key is its name in this project."""
    return {
        key.to_user_string(): [parent.to_user_string() for parent in asset_graph.get(key).parent_keys]
        for key in asset_graph.materializable_asset_keys
    }


def critical_path(
    stages: Sequence[StageTiming], upstream: Mapping[str, Sequence[str]]
) -> tuple[list[str], float]:
    """The chain of dependent stages with the largest total duration: no executor can beat it."""
    by_name = {s.stage: s for s in stages}
    best: dict[str, tuple[float, list[str]]] = {}

    def longest_to(name: str) -> tuple[float, list[str]]:
        if name not in best:
            parents = [p for p in upstream.get(name, ()) if p in by_name]
            prior = max((longest_to(p) for p in parents), default=(0.0, []), key=lambda item: item[0])
            best[name] = (prior[0] + by_name[name].duration_s, [*prior[1], name])
        return best[name]

    total, path = max((longest_to(name) for name in by_name), key=lambda item: item[0])
    return path, total


def write_json_report(summary: TimingSummary, extra: Mapping[str, object], path: Path) -> Path:
    """Write the report atomically: a reader never sees half a file."""
    payload = {**summary.model_dump(mode="json"), **extra}
    payload["stages"] = [{**s.model_dump(mode="json"), "duration_s": s.duration_s} for s in summary.stages]
    return write_text_atomically(path, json.dumps(payload, indent=2, default=str))
