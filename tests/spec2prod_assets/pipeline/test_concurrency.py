"""Test generation and refactoring overlap in "async" mode, run one after the other in "sync" mode,
and the `openhands` pool bounds generator steps across runs. Proven from the runs' own event logs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import pytest

from spec2prod_assets.definitions import defs
from spec2prod_assets.pipeline.run_records import stage_timings
from spec2prod_assets.pipeline.stages import STEP_ASSETS
from spec2prod_assets.report.timings import StageTiming
from spec2prod_assets.workflow import run_workflow


def _overlap(a: StageTiming, b: StageTiming) -> bool:
    return a.start < b.end and b.start < a.end


def _steps(stages: Iterable[StageTiming]) -> dict[str, StageTiming]:
    return {s.stage: s for s in stages}


def _dev_run(demo_project: Path, mode: str) -> tuple[bool, float, dict[str, float]]:
    """Run the demo spec to dev in `mode`: whether generation and refactoring overlapped, the savings, and
    each step's launch time."""
    result = run_workflow(demo_project / "specs" / "calculator.md", "dev", mode)
    assert result.success
    steps = _steps(result.timings.stages)
    launches = {name: step.launch_s for name, step in steps.items()}
    return (
        _overlap(steps["generated_tests"], steps["refactored_code"]),
        result.timings.parallel_savings_s,
        launches,
    )


def test_generated_tests_is_in_the_openhands_pool() -> None:
    node = defs.resolve_asset_graph().get(dg.AssetKey("generated_tests"))
    assert node.pools == {"openhands"}


@pytest.mark.e2e
def test_async_mode_runs_test_generation_and_refactoring_at_the_same_time(
    demo_project: Path, dagster_home: Path
) -> None:
    overlapped, savings_s, launches = _dev_run(demo_project, "async")

    assert overlapped
    assert savings_s > 0
    # Every step starts a worker, and its first stage, the one that waited for it, carries that cost.
    first_stages = {stages[0] for stages in STEP_ASSETS.values()} & set(launches)
    assert first_stages == {"spec", "generated_tests", "refactored_code", "release_candidate"}
    assert all(launches[stage] > 0 for stage in first_stages), launches
    assert all(launches[stage] == 0 for stage in set(launches) - first_stages), launches


@pytest.mark.e2e
def test_sync_mode_runs_test_generation_and_refactoring_one_after_the_other(
    demo_project: Path, dagster_home: Path
) -> None:
    overlapped, savings_s, launches = _dev_run(demo_project, "sync")

    assert not overlapped
    assert savings_s == 0
    assert set(launches.values()) == {0.0}, launches  # in-process steps start no worker


@pytest.mark.e2e
def test_the_openhands_pool_limit_holds_across_two_runs_on_one_instance(
    demo_project: Path, dagster_home: Path
) -> None:
    (dagster_home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n", encoding="utf-8"
    )
    # Create the instance's storage once, first: two processes creating it at once would race.
    instance = dg.DagsterInstance.get()
    cli = Path(sys.executable).with_name("spec2prod")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    # Two separate processes, as two people or CI jobs would start them, sharing one instance.
    runs = [
        subprocess.Popen(
            [str(cli), "run", str(demo_project / "specs" / f"{spec}.md"), "--stage", "dev"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for spec in ("calculator", "text_stats")
    ]
    try:
        outputs = [run.communicate(timeout=600)[0] for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
    assert [run.returncode for run in runs] == [0, 0], "\n".join(o[-2000:] for o in outputs)

    records = instance.get_run_records()
    assert len(records) == 2
    generation = [_steps(stage_timings(instance, r.dagster_run.run_id))["generated_tests"] for r in records]
    assert not _overlap(generation[0], generation[1])
