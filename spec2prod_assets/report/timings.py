"""What a run's stage timings say about parallelism: the critical path, the time saved by running stages
side by side, and the JSON report.

Pure arithmetic over start and end times, so it is tested without Dagster; `pipeline/run_records.py`
reads the timings from the run's own step events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from spec2prod_assets.storage.atomic_files import write_text_atomically

# async/sync: Dagster's multiprocess/in-process executor on this machine; celery/k8s: the team and cluster
# profiles' executors, whose steps run on workers elsewhere (`pipeline/executors.py`).
ExecutionMode = Literal["async", "sync", "celery", "k8s"]


class StageTiming(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str
    start: float
    end: float
    status: str
    launch_s: float = 0.0  # worker start to step start: what the step boundary cost before any work

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
    overhead_s: float = Field(
        default=0.0,
        description="Wall time minus the critical path: what orchestration (step launches, hand-offs) "
        "cost beyond the work no executor can avoid.",
    )
    critical_path: tuple[str, ...]
    stages: tuple[StageTiming, ...]

    def stage_rows(self) -> list[dict[str, str | float | bool]]:
        """One row per stage in start order, times relative to the first start so they read as a timeline."""
        origin = min((s.start for s in self.stages), default=0.0)
        return [
            {
                "stage": s.stage,
                "status": s.status,
                "start_s": round(s.start - origin, 3),
                "end_s": round(s.end - origin, 3),
                "duration_s": round(s.duration_s, 3),
                "launch_s": round(s.launch_s, 3),
                "on_critical_path": s.stage in self.critical_path,
            }
            for s in sorted(self.stages, key=lambda s: s.start)
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
        overhead_s=round(max(0.0, wall - path_s), 3),
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
    """Write the report atomically: a reader never sees half a file.

    `failures` is always there (empty for a run that went through), so a reader never has to ask
    whether the key is missing or the run was clean.
    """
    payload = {**summary.model_dump(mode="json"), "failures": [], **extra}
    payload["stages"] = [{**s.model_dump(mode="json"), "duration_s": s.duration_s} for s in summary.stages]
    return write_text_atomically(path, json.dumps(payload, indent=2, default=str))
