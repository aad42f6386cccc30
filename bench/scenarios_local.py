"""Scenarios that call `run_workflow` in this process, on the instance $DAGSTER_HOME names.

a. sync vs async on the bundled example: each round runs both modes on fresh copies, in alternating order
   (sync first in odd rounds, async first in even ones), so both see the same machine load. Each run is a
   `spec2prod run --json` process of its own, as a person or CI starts one: a long-lived process would keep
   the async mode's forkserver warm from one run to the next and flatter it. Wall is what that command's
   caller waits; overhead per level is the run's `overhead_s` (wall minus the critical path) divided by the
   number of steps on the critical path (a level of the graph is a step boundary).
c. cold vs cached rerun: the same spec twice on one project copy; the rerun's generation tasks come from
   `generated_tests`' `tasks_submitted` / `cache_hits` metadata (n/a while a build has no cache).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.bench_projects import copy_demo
from bench.ratio_table import Row
from spec2prod_assets.pipeline.stages import STEP_OF_ASSET
from spec2prod_assets.report.run_result import WorkflowResult
from spec2prod_assets.workflow import run_workflow

SPEC = "calculator"
GENERATED_TESTS = "generated_tests"


@dataclass(frozen=True)
class Measured:
    """One `run_workflow` call: what the caller waited and what the run's own events say."""

    call_s: float
    result: WorkflowResult

    @property
    def overhead_per_level_s(self) -> float:
        return overhead_per_level(self.result.timings.overhead_s, self.result.timings.critical_path)

    def generation(self, key: str) -> Any:
        stage = self.result.stages.get(GENERATED_TESTS)
        return None if stage is None else stage.metadata.get(key)


def timed_run(project: Path, stage: str, mode: str) -> Measured:
    started = time.perf_counter()
    result = run_workflow(project / "specs" / f"{SPEC}.md", stage, mode, log_level="WARNING")  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    if not result.success:
        raise RuntimeError(f"{mode} run {result.run_id} failed: {[f.message for f in result.failures]}")
    return Measured(elapsed, result)


def overhead_per_level(overhead_s: float, critical_path: Sequence[str]) -> float:
    """Overhead per step boundary on the critical path (stages sharing a step are one level)."""
    levels = len(dict.fromkeys(STEP_OF_ASSET.get(stage, stage) for stage in critical_path))
    return overhead_s / max(1, levels)


@dataclass(frozen=True)
class CliRun:
    """One `spec2prod run --json` process: what its caller waited and the run's timings."""

    call_s: float
    overhead_s: float
    overhead_per_level_s: float


def cli_run(project: Path, stage: str, mode: str) -> CliRun:
    started = time.perf_counter()
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("spec2prod")),
            "run",
            str(project / "specs" / f"{SPEC}.md"),
            "--stage",
            stage,
            "--mode",
            mode,
            "--json",
        ],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=900,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{mode} run failed ({completed.returncode}): {completed.stderr[-2000:]}")
    timings = json.loads(completed.stdout)["runs"][0]["timings"]
    return CliRun(
        elapsed, timings["overhead_s"], overhead_per_level(timings["overhead_s"], timings["critical_path"])
    )


def sync_vs_async(repeat: int, stage: str = "dev") -> list[Row]:
    runs: dict[str, list[CliRun]] = {"sync": [], "async": []}
    with tempfile.TemporaryDirectory(prefix="bench-a-") as scratch:
        for round_number in range(1, repeat + 1):
            order = ("sync", "async") if round_number % 2 else ("async", "sync")
            for mode in order:
                project = copy_demo(Path(scratch) / f"{mode}-{round_number}")
                runs[mode].append(measured := cli_run(project, stage, mode))
                print(
                    f"  a. round {round_number} {mode:>5}: {measured.call_s:6.1f} s, overhead "
                    f"{measured.overhead_s:5.1f} s ({measured.overhead_per_level_s:.2f} s/level)",
                    flush=True,
                )
    sync_s = statistics.median(m.call_s for m in runs["sync"])
    async_s = statistics.median(m.call_s for m in runs["async"])
    sync_level = statistics.median(m.overhead_per_level_s for m in runs["sync"])
    async_level = statistics.median(m.overhead_per_level_s for m in runs["async"])
    ratio = async_s / sync_s
    return [
        Row(
            f"a. async/sync wall, example to {stage}",
            f"sync {sync_s:.1f} s",
            f"async {async_s:.1f} s",
            ratio,
            "<= 1.00",
            ratio <= 1.0,
            notes=(f"median of {repeat} alternating round(s); wall = one `spec2prod run` process",),
        ),
        Row(
            "a. overhead per level (s)",
            f"sync {sync_level:.2f} s",
            f"async {async_level:.2f} s",
            async_level,
            "async <= 1.0 s",
            async_level <= 1.0,
            notes=("ratio column: async overhead_s / critical-path steps, in seconds",),
        ),
    ]


def cold_vs_cached(repeat: int, stage: str = "dev", mode: str = "async") -> list[Row]:
    pairs: list[tuple[Measured, Measured]] = []
    with tempfile.TemporaryDirectory(prefix="bench-c-") as scratch:
        for round_number in range(1, repeat + 1):
            project = copy_demo(Path(scratch) / f"project-{round_number}")
            cold = timed_run(project, stage, mode)
            rerun = timed_run(project, stage, mode)
            pairs.append((cold, rerun))
            print(
                f"  c. round {round_number}: cold {cold.call_s:6.1f} s, rerun {rerun.call_s:6.1f} s, rerun "
                f"tasks_submitted={rerun.generation('tasks_submitted')} "
                f"cache_hits={rerun.generation('cache_hits')}",
                flush=True,
            )
    cold_s = statistics.median(cold.call_s for cold, _ in pairs)
    rerun_s = statistics.median(rerun.call_s for _, rerun in pairs)
    ratio = rerun_s / cold_s
    tasks = [rerun.generation("tasks_submitted") for _, rerun in pairs]
    hits = [rerun.generation("cache_hits") for _, rerun in pairs]
    costs = [rerun.generation("cost_usd") for _, rerun in pairs]
    no_tasks = all(task == 0 for task in tasks)
    return [
        Row(
            f"c. cached rerun/cold wall ({mode}, to {stage})",
            f"cold {cold_s:.1f} s",
            f"rerun {rerun_s:.1f} s",
            ratio,
            "<= 0.50, 0 tasks",
            ratio <= 0.5 and no_tasks,
            notes=(
                "rerun tasks_submitted: "
                + ", ".join("n/a" if task is None else str(task) for task in tasks)
                + "; cache_hits: "
                + ", ".join("n/a" if hit is None else str(hit) for hit in hits)
                + "; cost_usd: "
                + ", ".join("n/a" if cost is None else f"{cost}" for cost in costs),
            ),
        )
    ]
