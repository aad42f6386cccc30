"""`make bench`: every performance scenario of issue 12, measured side by side, ending in one table of ratios.

    .venv/bin/python bench/bench_all.py [--quick] [--only a,c] [--repeat 3] [--delay-s 10]

a. sync vs async on the bundled example (`run_workflow`, alternating): async/sync wall, overhead per level.
b. sync vs async with a slow agent: the real OpenHands agent server, a scripted model that answers each
   agent turn after `--delay-s`: the share of the refactor branch's duration async saved (its own process,
   so the code location loads with OpenHands as the generator).
c. cold vs cached rerun of one spec on one project: rerun/cold wall and the rerun's generation tasks.
d. 10 specs at once through the daemon's queued run coordinator: total / ideal and the `openhands` pool's
   peak (definitions in bench/scenarios_daemon.py).
e. drop-to-production latency through the spec sensor.

Runs that go through `run_workflow` use a temporary $DAGSTER_HOME holding the repository's dagster.yaml, as
`make run` does; the daemon scenarios start `dagster-daemon` on their own temporary home and stop it by pid.
Not a test: ratios depend on the machine and its load, which the first line records. `--quick` runs one
round and skips b (the agent server takes a minute to start and each of its runs waits on the model).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # `bench.*` and `tests.support` import from the checkout

from bench.ratio_table import Row, machine_line, render  # noqa: E402

SCENARIOS = "abcde"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one round per scenario; skip b")
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help="comma-separated scenario letters, e.g. a,c"
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds for a, b and c (1 with --quick)")
    parser.add_argument(
        "--delay-s", type=float, default=10.0, help="the slow model's delay per agent turn (b)"
    )
    args = parser.parse_args()
    chosen = {letter.strip() for letter in args.only.split(",") if letter.strip()}
    unknown = chosen - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    repeat = 1 if args.quick else args.repeat

    print(machine_line(), flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="spec2prod-bench-"))
    home = scratch / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)

    # Each scenario's module is imported when it runs, after DAGSTER_HOME is set (run_workflow uses that
    # instance), and a scenario that cannot import (a missing optional tool) fails alone.
    def sync_vs_async() -> list[Row]:
        from bench.scenarios_local import sync_vs_async

        return sync_vs_async(repeat)

    def slow_agent() -> list[Row]:
        from bench.scenarios_agent import in_child_process

        return in_child_process(repeat, args.delay_s, scratch)

    def cold_vs_cached() -> list[Row]:
        from bench.scenarios_local import cold_vs_cached

        return cold_vs_cached(repeat)

    def through_the_daemon() -> list[Row]:
        from bench.scenarios_daemon import measure

        return measure(scratch, with_many="d" in chosen)

    steps: list[tuple[str, str, Callable[[], list[Row]]]] = [
        ("a", "a. sync vs async", sync_vs_async),
        ("b", "b. slow agent", slow_agent),
        ("c", "c. cold vs cached", cold_vs_cached),
        ("d", "d+e. daemon", through_the_daemon),
    ]
    rows: list[Row] = []
    try:
        for letter, label, measure in steps:
            wanted = letter in chosen or (letter == "d" and "e" in chosen)
            if not wanted:
                continue
            if letter == "b" and args.quick:
                rows.append(Row.unmeasured(label, "skipped: --quick"))
                continue
            print(f"{label} ...", flush=True)
            try:
                measured = measure()
            except Exception as exc:  # one broken scenario must not cost the others' numbers
                rows.append(Row.unmeasured(label, f"failed: {type(exc).__name__}: {exc}"))
                continue
            rows.extend(row for row in measured if row.scenario[0] in chosen)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(render(rows))


if __name__ == "__main__":
    main()
