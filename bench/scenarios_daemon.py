"""Scenarios d and e: specs dropped into a watched project, run by `dagster-daemon` (the spec sensor, the
queued run coordinator, the repository's dagster.yaml), as `make dev` runs them.

One daemon serves both, on a temporary $DAGSTER_HOME, started here and stopped by its pid at the end:
1. one dev spec alone (calc_00): warms the daemon and gives T1, one run's time from its creation (queued)
   to its end, with nothing else running;
2. e. the example's calculator spec (target production) dropped: seconds from the drop to the event of a
   healthy `production_deployment` materialization of its partition (target: 60 s);
3. d. ten dev specs (calc_01 … calc_10, clones of the calculator) dropped at once:
   - total = the first of the ten runs' creation to the last one's end (the sensor's latency before the
     first run is reported apart, in the notes);
   - c = the effective concurrency: min(max_concurrent_runs, the pool's default_limit) from the instance's
     own config: each run holds one `openhands` step, so the pool caps how many runs make progress on
     generation at once and the run limit caps how many run at all;
   - ideal = T1 x ceil(10 / c): what perfect packing of ten runs of T1 into c lanes takes;
   - ratio = total / ideal (target ≤ 1.2); the pool's peak is the most generated_tests steps of different
     runs whose STEP_START..end windows overlapped (target ≤ the limit).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import dagster as dg

from bench.bench_projects import clone_calculator, demo_without_specs
from bench.ratio_table import Row
from sensors.spec_sensor import DEFAULT_INTERVAL_S
from tests.support.process_tree import stop_process_tree

REPO_ROOT = Path(__file__).resolve().parent.parent
MANY = 10
PARTITION_TAG = "dagster/partition"
GENERATED_TESTS = "generated_tests"
PRODUCTION = dg.AssetKey("production_deployment")
START_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 900.0
POLL_S = 0.5
_FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
_Value = TypeVar("_Value")


@dataclass(frozen=True)
class Window:
    start: float
    end: float


def measure(scratch: Path, *, with_many: bool) -> list[Row]:
    base = scratch / "daemon"
    project = demo_without_specs(base / "project")
    home = base / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    specs = {
        f"calc_{n:02d}": clone_calculator(project, f"calc_{n:02d}", target_stage="dev")
        for n in range(MANY + 1)
    }
    production_spec = (REPO_ROOT / "examples" / "demo" / "specs" / "calculator.md").read_text(
        encoding="utf-8"
    )
    with dg.DagsterInstance.from_config(str(home)) as instance, running_daemon(base, home, project) as daemon:
        _wait_for("the daemon's heartbeats", lambda: _ready(instance), START_TIMEOUT_S, daemon)
        config = instance.get_concurrency_config()
        run_limit = config.run_queue_config.max_concurrent_runs if config.run_queue_config else MANY
        pool_limit = config.pool_config.default_pool_limit or MANY

        _drop(project, {"calc_00": specs["calc_00"]})
        (single,) = _wait_for_runs(instance, ["calc_00"], daemon)
        if single.dagster_run.status != dg.DagsterRunStatus.SUCCESS:
            raise RuntimeError(
                f"the single run {single.dagster_run.run_id} did not succeed: no T1 to compare"
            )
        t1 = (single.end_time or time.time()) - single.create_timestamp.timestamp()
        print(f"  d. one run alone: {t1:.1f} s (created to end)", flush=True)

        dropped = time.time()
        _drop(project, {"calculator": production_spec})
        healthy_at = _wait_for(
            "a healthy production_deployment", lambda: _healthy_at(instance), RUN_TIMEOUT_S, daemon
        )
        latency = healthy_at - dropped
        (production_run,) = _wait_for_runs(instance, ["calculator"], daemon)
        print(f"  e. drop to healthy production: {latency:.1f} s", flush=True)
        rows = [_latency_row(latency, dropped, production_run)]
        if not with_many:
            return rows

        many = [f"calc_{n:02d}" for n in range(1, MANY + 1)]
        dropped = time.time()
        _drop(project, {slug: specs[slug] for slug in many})
        records = _wait_for_runs(instance, many, daemon)
        rows.extend(_many_rows(instance, records, dropped, t1, run_limit, pool_limit))
        return rows


def _latency_row(latency: float, dropped: float, run: dg.RunRecord) -> Row:
    created = run.create_timestamp.timestamp()
    started = run.start_time or created
    return Row(
        "e. drop to healthy production (s)",
        f"sensor every {DEFAULT_INTERVAL_S} s",
        f"healthy after {latency:.1f} s",
        latency,
        "<= 60 s",
        latency <= 60.0,
        notes=(
            f"drop→run created {created - dropped:.1f} s, queued→started {started - created:.1f} s, "
            f"started→healthy {latency - (started - dropped):.1f} s; run {run.dagster_run.status.value}",
        ),
    )


def _many_rows(
    instance: dg.DagsterInstance,
    records: list[dg.RunRecord],
    dropped: float,
    t1: float,
    run_limit: int,
    pool_limit: int,
) -> list[Row]:
    first_created = min(r.create_timestamp.timestamp() for r in records)
    last_end = max(r.end_time or 0.0 for r in records)
    total = last_end - first_created
    lanes = max(1, min(run_limit, pool_limit))
    ideal = t1 * math.ceil(MANY / lanes)
    ratio = total / ideal
    runs_peak = peak(Window(r.start_time or 0.0, r.end_time or 0.0) for r in records)
    steps = [_step_window(instance, r.dagster_run.run_id, GENERATED_TESTS) for r in records]
    pool_peak = peak(step for step in steps if step is not None)
    failed = [
        r.dagster_run.tags.get(PARTITION_TAG)
        for r in records
        if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS
    ]
    return [
        Row(
            f"d. {MANY} specs at once: total/ideal",
            f"1 run {t1:.1f} s → ideal {ideal:.0f} s",
            f"{MANY} runs {total:.0f} s",
            ratio,
            "<= 1.20",
            ratio <= 1.2 and not failed,
            notes=(
                f"ideal = T1 x ceil({MANY}/{lanes}), lanes = min(max_concurrent_runs {run_limit}, pool limit "
                f"{pool_limit}); sensor: drop to first run {first_created - dropped:.1f} s; "
                f"runs at once at most "
                f"{runs_peak}" + (f"; FAILED: {', '.join(str(f) for f in failed)}" if failed else ""),
            ),
        ),
        Row(
            "d. openhands pool peak / limit",
            f"limit {pool_limit}",
            f"peak {pool_peak}",
            pool_peak / pool_limit,
            "<= 1.00",
            pool_peak <= pool_limit and len([s for s in steps if s]) == MANY,
            notes=(f"{sum(1 for s in steps if s)} of {MANY} runs had a {GENERATED_TESTS} step",),
        ),
    ]


def peak(windows: Iterable[Window]) -> int:
    """The most windows open at one moment (an end and a start at the same instant do not overlap)."""
    spans = [w for w in windows if w.end > w.start]
    edges = sorted([(w.start, 1) for w in spans] + [(w.end, -1) for w in spans])
    busy = best = 0
    for _, change in edges:
        busy += change
        best = max(best, busy)
    return best


def _step_window(instance: dg.DagsterInstance, run_id: str, step: str) -> Window | None:
    for stat in instance.get_run_step_stats(run_id):
        if stat.step_key == step and stat.start_time and stat.end_time:
            return Window(stat.start_time, stat.end_time)
    return None


def _drop(project: Path, specs: dict[str, str]) -> None:
    """Write each spec beside specs/ and rename it in: the sensor never sees half a file."""
    for slug, text in specs.items():
        staged = project / f".{slug}.md.tmp"
        staged.write_text(text, encoding="utf-8")
        staged.replace(project / "specs" / f"{slug}.md")


def _ready(instance: dg.DagsterInstance) -> bool | None:
    beats = instance.get_daemon_heartbeats()
    return True if {"SENSOR", "QUEUED_RUN_COORDINATOR"} <= set(beats) else None


def _healthy_at(instance: dg.DagsterInstance) -> float | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=PRODUCTION, asset_partitions=["calculator"]), limit=1
    ).records
    if not records:
        return None
    entry = records[0].event_log_entry
    materialization = entry.asset_materialization
    healthy = materialization.metadata.get("healthy") if materialization else None
    return entry.timestamp if healthy is not None and getattr(healthy, "value", healthy) is True else None


def _wait_for_runs(
    instance: dg.DagsterInstance, slugs: list[str], daemon: subprocess.Popen[bytes]
) -> list[dg.RunRecord]:
    """The finished run of each slug, once all of them have finished."""

    def finished() -> list[dg.RunRecord] | None:
        found = []
        for slug in slugs:
            records = instance.get_run_records(dg.RunsFilter(tags={PARTITION_TAG: slug}), limit=1)
            if not records or records[0].dagster_run.status not in _FINISHED:
                return None
            found.append(records[0])
        return found

    return _wait_for(f"runs of {', '.join(slugs)}", finished, RUN_TIMEOUT_S, daemon)


def _wait_for(
    what: str, probe: Callable[[], _Value | None], timeout_s: float, daemon: subprocess.Popen[bytes]
) -> _Value:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise RuntimeError(f"dagster-daemon exited with {daemon.returncode} while waiting for {what}")
        value = probe()
        if value is not None:
            return value
        time.sleep(POLL_S)
    raise TimeoutError(f"no {what} after {timeout_s:.0f} s")


@contextmanager
def running_daemon(base: Path, home: Path, project: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`dagster-daemon run` on the temporary home, watching `project`, until the block ends; then its whole
    tree is stopped by pid. Its log stays beside the project; its tail is printed if the block failed."""
    workspace = base / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: spec2prod_assets.definitions\n"
        f"      working_directory: {REPO_ROOT}\n      location_name: spec2prod\n",
        encoding="utf-8",
    )
    # The built-in generator and the sensor's defaults: nothing of the caller's SPEC2PROD_* / OPENHANDS_*.
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("SPEC2PROD_", "OPENHANDS_"))
    }
    env |= {"DAGSTER_HOME": str(home), "SPEC2PROD_PROJECT_ROOT": str(project), "PYTHONUNBUFFERED": "1"}
    log_path = base / "daemon.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(workspace)],
            cwd=base,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    except BaseException:
        tail = log_path.read_text(errors="replace").splitlines()[-30:]
        print("  --- dagster-daemon log (tail) ---\n  " + "\n  ".join(tail), flush=True)
        raise
    finally:
        stop_process_tree(process)
