"""The performance history: what the last N workflow runs say about each stage's duration, the
orchestration overhead and the time parallelism saved, per execution mode.

One run is noise (a cold cache, a busy neighbour); the issue's targets (async never slower than sync,
overhead under a second per level) are about the typical run, so this reports the median and the 95th
percentile over a window of runs, split by execution mode because comparing the two modes is the point.

Pure pandas over plain records, so it is tested without Dagster; `pipeline/history.py` reads the records
from the instance's materializations and publishes the numbers as metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

MEDIAN, P95 = 0.5, 0.95
# A run's totals as its report names them, and the shorter name they carry in history keys
# ("overhead_async_p50_s" rather than "overhead_s_async_p50_s").
RUN_MEASURES: dict[str, str] = {
    "wall_s": "wall",
    "critical_path_s": "critical_path",
    "overhead_s": "overhead",
    "parallel_savings_s": "parallel_savings",
}
_KEY_UNSAFE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class RunTimings:
    """One workflow run as its `workflow_report` and its stages' materializations recorded it.

    A total is None when the report did not carry it (reports older than `overhead_s` lack it), so a
    missing number is left out of the percentiles instead of counting as 0 s.
    """

    run_id: str
    finished_at: float  # epoch seconds of the report's materialization
    partition: str | None
    execution_mode: str
    wall_s: float | None = None
    critical_path_s: float | None = None
    overhead_s: float | None = None
    parallel_savings_s: float | None = None
    stage_durations: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Spread:
    """The median and 95th percentile of one measure over the runs that have it."""

    runs: int
    p50_s: float
    p95_s: float


@dataclass(frozen=True)
class HistorySummary:
    """Percentiles per (stage, mode) and per (run measure, mode), plus how many runs they rest on."""

    runs_counted: int
    specs_counted: int
    runs_by_mode: dict[str, int]
    stages: dict[tuple[str, str], Spread]  # (stage, mode), in display order
    measures: dict[tuple[str, str], Spread]  # (short measure name, mode), in display order

    def metrics(self) -> dict[str, int | float]:
        """Plain numbers under stable keys, so the UI plots each one across materializations.

        A (stage, mode) with no run in the window has no key at all: a 0 would plot as a real, fast run.
        """
        values: dict[str, int | float] = {
            "runs_counted": self.runs_counted,
            "specs_counted": self.specs_counted,
        }
        values |= {f"runs_{key_part(mode)}": count for mode, count in self.runs_by_mode.items()}
        for (name, mode), spread in [*self.stages.items(), *self.measures.items()]:
            prefix = f"{name}_{key_part(mode)}"
            values[f"{prefix}_p50_s"] = spread.p50_s
            values[f"{prefix}_p95_s"] = spread.p95_s
        return values

    def markdown(self) -> str:
        """One table, stages in pipeline order then the run totals, for the asset's page in the UI."""
        if self.runs_counted == 0:
            return (
                "No workflow runs yet: `workflow_report` has no materializations on this instance. "
                "Run a spec through a job and this table fills in."
            )
        modes = ", ".join(f"{count} {mode}" for mode, count in self.runs_by_mode.items())
        lines = [
            f"Last {self.runs_counted} workflow runs ({modes}) over {self.specs_counted} spec(s); "
            "seconds, median and 95th percentile.",
            "",
            "| Measure | Mode | Runs | p50 (s) | p95 (s) |",
            "|---|---|---:|---:|---:|",
        ]
        for (name, mode), spread in [*self.stages.items(), *self.measures.items()]:
            label = name if (name, mode) in self.stages else f"*{name.replace('_', ' ')}*"
            lines.append(f"| {label} | {mode} | {spread.runs} | {spread.p50_s:.3f} | {spread.p95_s:.3f} |")
        return "\n".join(lines)


def key_part(name: str) -> str:
    """A name as it may appear inside a metadata key: lower case letters, digits and underscores."""
    return _KEY_UNSAFE.sub("_", name.lower()).strip("_") or "unknown"


def runs_frame(runs: Iterable[RunTimings]) -> pd.DataFrame:
    """One row per run, newest first: its id, spec, mode and totals (NaN where the report lacked one)."""
    import pandas as pd  # here, not at import: the code location loads this module in every step worker

    columns = ["run_id", "finished_at", "partition", "execution_mode", *RUN_MEASURES]
    rows = [
        {
            "run_id": run.run_id,
            "finished_at": run.finished_at,
            "partition": run.partition,
            "execution_mode": run.execution_mode,
            **{measure: getattr(run, measure) for measure in RUN_MEASURES},
        }
        for run in runs
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame[list(RUN_MEASURES)] = frame[list(RUN_MEASURES)].astype(float)
    return frame.sort_values("finished_at", ascending=False, ignore_index=True)


def run_rows(runs: Iterable[RunTimings]) -> list[dict[str, str | float | None]]:
    """`runs_frame` as table rows for the UI, newest first: the run (id prefix), spec, mode and totals,
    None where the report lacked a total (a table cell cannot hold NaN)."""
    import pandas as pd  # here, not at import: the code location loads this module in every step worker

    frame = runs_frame(runs)
    return [
        {
            "run": str(row["run_id"])[:8],
            "spec": None if pd.isna(row["partition"]) else str(row["partition"]),
            "mode": str(row["execution_mode"]),
            **{measure: None if pd.isna(row[measure]) else float(row[measure]) for measure in RUN_MEASURES},
        }
        for row in frame.to_dict("records")
    ]


def stages_frame(runs: Iterable[RunTimings]) -> pd.DataFrame:
    """One row per (run, stage) the run materialized, with the stage's own `duration_s`."""
    import pandas as pd  # here, not at import: the code location loads this module in every step worker

    rows = [
        {"run_id": run.run_id, "execution_mode": run.execution_mode, "stage": stage, "duration_s": seconds}
        for run in runs
        for stage, seconds in run.stage_durations.items()
    ]
    frame = pd.DataFrame(rows, columns=["run_id", "execution_mode", "stage", "duration_s"])
    frame["duration_s"] = frame["duration_s"].astype(float)
    return frame


def summarize_history(runs: Sequence[RunTimings], stage_order: Sequence[str] = ()) -> HistorySummary:
    """Percentiles over `runs` (the caller picks the window); stages listed in `stage_order` come first,
    in that order, any other stage after them by name, so a new stage shows up without a code change."""

    by_run = runs_frame(runs)
    by_stage = stages_frame(runs)
    modes = sorted(by_run["execution_mode"].unique())
    order = {stage: index for index, stage in enumerate(stage_order)}
    stage_names = sorted(by_stage["stage"].unique(), key=lambda s: (order.get(s, len(order)), s))
    stages = {
        (stage, mode): spread
        for stage in stage_names
        for mode in modes
        if (
            spread := _spread(
                by_stage.loc[
                    (by_stage["stage"] == stage) & (by_stage["execution_mode"] == mode), "duration_s"
                ]
            )
        )
        is not None
    }
    measures = {
        (short, mode): spread
        for measure, short in RUN_MEASURES.items()
        for mode in modes
        if (spread := _spread(by_run.loc[by_run["execution_mode"] == mode, measure])) is not None
    }
    return HistorySummary(
        runs_counted=len(by_run),
        specs_counted=int(by_run["partition"].nunique()),
        runs_by_mode={str(mode): int((by_run["execution_mode"] == mode).sum()) for mode in modes},
        stages=stages,
        measures=measures,
    )


def _spread(seconds: pd.Series) -> Spread | None:
    """p50/p95 with pandas' linear interpolation between the closest runs; None when no run has the value."""

    present = seconds.dropna()
    if present.empty:
        return None
    return Spread(
        runs=len(present),
        p50_s=round(float(present.quantile(MEDIAN)), 3),
        p95_s=round(float(present.quantile(P95)), 3),
    )
