"""Sync (in-process) vs async (multiprocess, forkserver) on the same input, side by side.

Runs `run_workflow` on a fresh copy of the bundled example, alternating the two modes so both see the
same machine load, and prints each run's wall time, the stages' overlap, and the async/sync ratio.
Not a test: run it by hand (`make bench`), on a machine as quiet as you can get.

    python bench/bench_sync_vs_async.py [--repeat 3] [--spec calculator] [--stage dev]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "demo"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spec", default="calculator")
    parser.add_argument("--stage", default="dev", choices=["dev", "staging", "production"])
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="spec2prod-bench-"))
    os.environ["DAGSTER_HOME"] = str(scratch / "dagster_home")
    (scratch / "dagster_home").mkdir()
    (scratch / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # Imported after DAGSTER_HOME is set: the workflow uses that instance.
    from spec2prod_assets.workflow import run_workflow

    results: dict[str, list[tuple[float, float, float]]] = {"sync": [], "async": []}
    try:
        for round_number in range(1, args.repeat + 1):
            for mode in ("sync", "async"):
                project = scratch / f"{mode}-{round_number}"
                shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".spec2prod", "__pycache__"))
                started = time.perf_counter()
                result = run_workflow(project / "specs" / f"{args.spec}.md", args.stage, mode)  # type: ignore[arg-type]
                call_s = time.perf_counter() - started
                if not result.success:
                    raise SystemExit(f"{mode} run {result.run_id} failed: {result.stages_failed}")
                timings = result.timings
                results[mode].append((call_s, timings.wall_s, timings.parallel_savings_s))
                print(
                    f"round {round_number} {mode:>5}: call {call_s:6.2f}s  "
                    f"stages wall {timings.wall_s:6.2f}s  sum {timings.sum_stage_s:6.2f}s  "
                    f"overlap {timings.parallel_savings_s:5.2f}s",
                    flush=True,
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    sync_call = statistics.median(r[0] for r in results["sync"])
    async_call = statistics.median(r[0] for r in results["async"])
    sync_wall = statistics.median(r[1] for r in results["sync"])
    async_wall = statistics.median(r[1] for r in results["async"])
    print()
    for label, sync_s, async_s in (
        ("call wall", sync_call, async_call),
        ("stages wall", sync_wall, async_wall),
    ):
        print(f"median {label:<12} sync {sync_s:6.2f}s  async {async_s:6.2f}s  ratio {async_s / sync_s:.2f}")
    print(f"median overlap     async {statistics.median(r[2] for r in results['async']):.2f}s")


if __name__ == "__main__":
    main()
