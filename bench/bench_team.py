"""Many specs at once on the team profile: throughput, the queue, and the `openhands` pool's peak.

    .venv/bin/python bench/bench_team.py [--specs 50] [--workers 2] [--stage dev] [--quick] [--keep]
                                         [--crosshair-budget-s S]

Starts the team profile on 127.0.0.1 (tests/support/team_stack.py: Postgres, Redis, `--workers` Celery
workers, deploy/team/dagster.yaml) and a `dagster dev` (webserver + daemon) with the same environment,
whose spec sensor watches a fresh project. Then drops `--specs` generated specs of small, distinct
components (bench/small_components.py) into the project at once: the sensor requests one run per spec
(`spec_to_dev` for target_stage dev, `spec_to_production` for production), the queued run coordinator
starts `max_concurrent_runs` of them at a time, and every step goes to the Celery workers. Everything is
measured from the instance once the last run has ended, and one table is printed.

Not a test and not part of `make bench`: it takes 15-25 minutes of CPU for 50 specs on two cores.
`--quick` drops 5 specs, to check the bench itself. Every process started here is stopped at the end;
the temporary folder is removed unless `--keep`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # `bench.*` and `tests.support` import from the checkout

import dagster as dg  # noqa: E402

from bench.bench_projects import demo_without_specs  # noqa: E402
from bench.ratio_table import machine_line  # noqa: E402
from bench.scenarios_daemon import PARTITION_TAG, _drop, _ready, _wait_for  # noqa: E402
from bench.small_components import small_component  # noqa: E402
from resources.generators import CROSSHAIR_TIME_BUDGET_ENV  # noqa: E402
from sensors.spec_sensor import DEFAULT_INTERVAL_S, INTERVAL_ENV  # noqa: E402
from spec2prod_assets.pipeline.jobs import JOB_FOR_STAGE  # noqa: E402
from spec2prod_assets.spec.model import Stage  # noqa: E402
from tests.e2e.conftest import running_dagster_dev  # noqa: E402
from tests.support.services import require_team_services  # noqa: E402
from tests.support.team_stack import peak_overlap, step_spans, team_stack  # noqa: E402

GENERATED_TESTS = "generated_tests"
START_TIMEOUT_S = 180.0
_FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@dataclass(frozen=True)
class Settings:
    specs: int
    workers: int
    stage: str
    crosshair_budget_s: float | None
    run_limit: int = 0
    pool_limit: int = 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--specs", type=int, default=50, help="specs dropped at once (default 50)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers, one step each (default 2)")
    parser.add_argument(
        "--stage", choices=("dev", "production"), default="dev", help="the specs' target_stage"
    )
    parser.add_argument("--quick", action="store_true", help="5 specs, to check the bench itself")
    parser.add_argument("--keep", action="store_true", help="leave the temporary folder (logs, work)")
    parser.add_argument(
        "--crosshair-budget-s",
        type=float,
        default=None,
        help=f"{CROSSHAIR_TIME_BUDGET_ENV} for every process (unset: the product's default)",
    )
    parser.add_argument(
        "--timeout-min", type=float, default=60.0, help="give up waiting for the runs after this long"
    )
    args = parser.parse_args()
    settings = Settings(
        specs=5 if args.quick else args.specs,
        workers=args.workers,
        stage=args.stage,
        crosshair_budget_s=args.crosshair_budget_s,
    )
    require_team_services()
    print(machine_line(), flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="spec2prod-bench-team-"))
    try:
        print(measure(scratch, settings, args.timeout_min * 60.0))
    finally:
        if args.keep:
            print(f"kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def measure(scratch: Path, settings: Settings, timeout_s: float) -> str:
    """Run the drop and return the report, read from the instance while its Postgres is still up."""
    project = demo_without_specs(scratch / "project")
    specs = dict(
        small_component(project, n, target_stage=settings.stage) for n in range(1, settings.specs + 1)
    )
    # Workers are started here, after the environment is complete: steps read the project root and
    # the generator's budgets from their own process's environment.
    with team_stack(scratch, workers=0) as stack:
        stack.env = {k: v for k, v in stack.env.items() if not k.startswith("OPENHANDS_")}
        stack.env["SPEC2PROD_PROJECT_ROOT"] = str(project)
        if settings.crosshair_budget_s is not None:
            stack.env[CROSSHAIR_TIME_BUDGET_ENV] = f"{settings.crosshair_budget_s:g}"
        for number in range(1, settings.workers + 1):
            stack.start_worker(f"worker-{number}")
        instance = stack.instance()
        config = instance.get_concurrency_config()
        run_queue = config.run_queue_config
        settings = replace(
            settings,
            run_limit=run_queue.max_concurrent_runs if run_queue else 0,
            pool_limit=config.pool_config.default_pool_limit or 0,
        )
        with running_dagster_dev(scratch, stack.home, project, stack.env) as server:
            _wait_for("the daemon's heartbeats", lambda: _ready(instance), START_TIMEOUT_S, server.process)
            print(f"stack up: {settings.workers} workers, dagster dev at {server.base_url}", flush=True)
            cpu_before = _cpu_times()
            dropped = time.time()
            _drop(project, specs)
            print(f"dropped {len(specs)} specs", flush=True)
            records = _wait_for(
                f"the runs of {len(specs)} specs",
                _Progress(instance, list(specs)),
                timeout_s,
                server.process,
            )
            cpu_busy = _busy_share(cpu_before, _cpu_times())
            return render(settings, records, dropped, cpu_busy, instance)


class _Progress:
    """The probe `_wait_for` polls: the finished run of every slug once all have one; prints progress."""

    def __init__(self, instance: dg.DagsterInstance, slugs: list[str]) -> None:
        self.instance, self.slugs, self.shown = instance, set(slugs), -1

    def __call__(self) -> list[dg.RunRecord] | None:
        records = [
            r
            for r in self.instance.get_run_records(dg.RunsFilter(tags={PARTITION_TAG: list(self.slugs)}))
            if r.dagster_run.status in _FINISHED
        ]
        if len(records) != self.shown:
            self.shown = len(records)
            print(f"  {time.strftime('%H:%M:%S')} {len(records)}/{len(self.slugs)} runs ended", flush=True)
        ended = {r.dagster_run.tags.get(PARTITION_TAG) for r in records}
        return records if ended >= self.slugs else None


def render(
    settings: Settings,
    records: list[dg.RunRecord],
    dropped: float,
    cpu_busy: float,
    instance: dg.DagsterInstance,
) -> str:
    created = [r.create_timestamp.timestamp() for r in records]
    starts = [r.start_time or c for r, c in zip(records, created, strict=True)]
    ends = [r.end_time or s for r, s in zip(records, starts, strict=True)]
    wall = max(ends) - dropped
    spans = {r.dagster_run.run_id: step_spans(instance, r.dagster_run.run_id) for r in records}
    all_steps = [span for steps in spans.values() for span in steps.values()]
    generation = [steps[GENERATED_TESTS] for steps in spans.values() if GENERATED_TESTS in steps]
    succeeded = sum(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    failed = sorted(
        str(r.dagster_run.tags.get(PARTITION_TAG))
        for r in records
        if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS
    )
    waits = [s - c for s, c in zip(starts, created, strict=True)]
    durations = [e - s for s, e in zip(starts, ends, strict=True)]
    step_busy = sum(end - start for start, end in all_steps)
    # A run's own time that no step accounts for: its process starting, Celery round trips, pool waits.
    outside = [
        d - _covered(list(spans[r.dagster_run.run_id].values()))
        for r, d in zip(records, durations, strict=True)
    ]
    rows = [
        (
            "specs dropped / runs",
            f"{settings.specs} / {len(records)}",
            f"job {JOB_FOR_STAGE[Stage(settings.stage)]}",
        ),
        ("wall: drop -> last run end", f"{wall:.0f} s", f"{wall / 60:.1f} min"),
        (
            "throughput",
            f"{settings.specs / (wall / 60):.2f} specs/min",
            f"{wall / settings.specs:.1f} s per spec",
        ),
        ("runs succeeded / failed", f"{succeeded} / {len(failed)}", ", ".join(failed[:8]) or "-"),
        (
            "sensor: drop -> first / last run created",
            f"{min(created) - dropped:.1f} s / {max(created) - dropped:.1f} s",
            f"{INTERVAL_ENV} unset: every {DEFAULT_INTERVAL_S} s",
        ),
        (
            "peak concurrent runs",
            str(peak_overlap(list(zip(starts, ends, strict=True)))),
            f"max_concurrent_runs {settings.run_limit}",
        ),
        (
            "peak generated_tests (openhands pool)",
            str(peak_overlap(generation)),
            f"pool limit {settings.pool_limit}; {len(generation)} steps",
        ),
        ("peak concurrent steps (all)", str(peak_overlap(all_steps)), f"workers {settings.workers}"),
        ("run duration (start -> end)", _median_max(durations), "median / max"),
        ("queue wait (created -> started)", _median_max(waits), "median / max"),
        ("run time outside its steps", _median_max(outside), "launch, broker round trips, pool waits"),
        (
            "worker busy share",
            f"{step_busy / (settings.workers * wall):.0%}",
            f"step time {step_busy:.0f} s / ({settings.workers} x wall)",
        ),
        ("CPU busy share (whole machine)", f"{cpu_busy:.0%}", f"{os.cpu_count()} cores"),
    ]
    rows += [
        (f"  step {key}", _median_max(values), "median / max")
        for key, values in sorted(
            _step_durations(spans.values()).items(), key=lambda kv: -statistics.median(kv[1])
        )
    ]
    budget = "default" if settings.crosshair_budget_s is None else f"{settings.crosshair_budget_s:g} s"
    header = (
        f"settings: specs {settings.specs}, target_stage {settings.stage}, workers {settings.workers} "
        f"(--concurrency=1), max_concurrent_runs {settings.run_limit}, openhands pool limit "
        f"{settings.pool_limit}, cores {os.cpu_count()}, generator CrossHair "
        f"({CROSSHAIR_TIME_BUDGET_ENV}: {budget})"
    )
    return "\n".join(["", header, "", *_table(("measure", "value", "context"), rows)])


def _step_durations(spans: Iterable[dict[str, tuple[float, float]]]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for steps in spans:
        for key, (start, end) in steps.items():
            found.setdefault(key, []).append(end - start)
    return found


def _covered(spans: list[tuple[float, float]]) -> float:
    """Seconds during which at least one of the spans is open (a run's parallel steps count once)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        total += max(0.0, end - max(start, reach))
        reach = max(reach, end)
    return total


def _median_max(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s / {max(values):.1f} s" if values else "-"


def _table(header: tuple[str, str, str], rows: list[tuple[str, str, str]]) -> list[str]:
    cells = [header, *rows]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return [line.rstrip() for line in lines]


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else 0.0


if __name__ == "__main__":
    main()
