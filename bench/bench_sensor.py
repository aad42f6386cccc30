"""How long one spec sensor tick takes over 1,000 specs (a benchmark, not a test).

    .venv/bin/python bench/bench_sensor.py [--specs 1000] [--repeat 5]

Writes N small specs (half in the bold-field template style, half with YAML front matter, like the
bundled example) into a temporary project and times, on a temporary instance, with `build_sensor_context`:
- first tick, all new, with the default parse budget (the tick stops parsing once the budget is spent
  and requests runs on a later tick),
- first tick, all new, with no budget (every spec parsed in one tick: the parser's cost),
- ticks until a bulk import is drained with the default budget,
- a tick with nothing new (the steady state: hash every file, parse none),
- a tick with one changed spec.
Each is repeated on a fresh instance; the table prints min / median / max in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from resources.project import ProjectResource
from sensors.spec_sensor import DEFAULT_PARSE_BUDGET_S, build_spec_sensor

TEMPLATE_SPEC = """# Component Specification: Widget {n}

**Component ID:** widget_{n}
**Version:** 1.0.{n}
**Target Stage:** production

## Overview
Widget number {n}, one of many specs the sensor watches.

## Requirements
- **FR-1**: `make({n})` returns a widget. (Must)
- **FR-2**: `make` rejects negative sizes with `ValueError`. (Should)
- **NFR-1**: Pure functions only.

## Acceptance Criteria
- AC-1: `make({n}).size == {n}`.

## Success Criteria
- Test coverage >= 80%
"""

FRONT_MATTER_SPEC = """---
name: Gadget {n}
slug: gadget_{n}
version: 0.{n}.0
coverage_threshold: 75
requirements:
  - id: FR-1
    text: build({n}) returns a gadget.
    priority: must
  - id: NFR-1
    kind: non_functional
    text: Linear in the input size.
acceptance_criteria:
  - 'build({n}).size == {n}'
---

# Gadget {n}
"""


def write_specs(root: Path, count: int) -> None:
    specs = root / "specs"
    for n in range(count):
        template = TEMPLATE_SPEC if n % 2 == 0 else FRONT_MATTER_SPEC
        folder = specs / f"team_{n % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"spec_{n:04d}.md").write_text(template.format(n=n), encoding="utf-8")


def timed(sensor: dg.SensorDefinition, context: dg.SensorEvaluationContext) -> tuple[float, dg.SensorResult]:
    started = time.perf_counter()
    result = sensor(context)
    elapsed = time.perf_counter() - started
    assert isinstance(result, dg.SensorResult)
    return elapsed, result


def run_case(
    root: Path, repeat: int, case: Callable[[dg.DagsterInstance, ProjectResource], float]
) -> list[float]:
    samples = []
    for _ in range(repeat):
        with dg.instance_for_test() as instance:
            samples.append(case(instance, ProjectResource(root=str(root))))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    budgeted = build_spec_sensor(quiet_s=0.0)
    unbounded = build_spec_sensor(parse_budget_s=float("inf"), quiet_s=0.0)
    drained_ticks: list[int] = []

    def context(
        instance: dg.DagsterInstance, project: ProjectResource, cursor: str | None = None
    ) -> dg.SensorEvaluationContext:
        return dg.build_sensor_context(instance=instance, cursor=cursor, resources={"project": project})

    def first_tick_budgeted(instance: dg.DagsterInstance, project: ProjectResource) -> float:
        return timed(budgeted, context(instance, project))[0]

    def first_tick_unbounded(instance: dg.DagsterInstance, project: ProjectResource) -> float:
        elapsed, result = timed(unbounded, context(instance, project))
        assert len(result.run_requests or []) == args.specs, "every spec should be requested"
        return elapsed

    def drain_budgeted(instance: dg.DagsterInstance, project: ProjectResource) -> float:
        cursor, ticks, total = None, 0, 0.0
        while True:
            elapsed, result = timed(budgeted, context(instance, project, cursor))
            cursor, ticks, total = result.cursor, ticks + 1, total + elapsed
            if result.run_requests:
                drained_ticks.append(ticks)
                return total

    def second_tick(instance: dg.DagsterInstance, project: ProjectResource) -> float:
        _, first = timed(unbounded, context(instance, project))
        elapsed, result = timed(budgeted, context(instance, project, first.cursor))
        assert not result.run_requests
        return elapsed

    def one_changed(instance: dg.DagsterInstance, project: ProjectResource) -> float:
        _, first = timed(unbounded, context(instance, project))
        changed = next((Path(project.root) / "specs").rglob("*.md"))
        changed.write_text(changed.read_text(encoding="utf-8") + f"\n<!-- {time.time_ns()} -->\n")
        elapsed, result = timed(budgeted, context(instance, project, first.cursor))
        assert len(result.run_requests or []) == 1
        return elapsed

    cases: list[tuple[str, Callable[[dg.DagsterInstance, ProjectResource], float]]] = [
        (f"first tick, all new, budget {DEFAULT_PARSE_BUDGET_S:g} s", first_tick_budgeted),
        ("first tick, all new, no budget", first_tick_unbounded),
        ("all ticks until runs are requested (budget)", drain_budgeted),
        ("second tick, nothing new", second_tick),
        ("tick with one changed spec", one_changed),
    ]
    with tempfile.TemporaryDirectory(prefix="bench_sensor_") as tmp:
        root = Path(tmp)
        write_specs(root, args.specs)
        print(f"{args.specs} specs, {args.repeat} repetitions each, times in ms")
        print(f"{'case':<46} {'min':>8} {'median':>8} {'max':>8}")
        for label, case in cases:
            samples = [s * 1000 for s in run_case(root, args.repeat, case)]
            print(f"{label:<46} {min(samples):8.1f} {statistics.median(samples):8.1f} {max(samples):8.1f}")
        print(f"ticks needed to drain {args.specs} new specs with the budget: {sorted(set(drained_ticks))}")


if __name__ == "__main__":
    main()
