"""The performance history asset on a real instance: stand-in assets with the pipeline's keys record
runs the way the pipeline does (stage `duration_s`, `workflow_report` totals), then the history reads them.

The stand-ins materialize in one step (the multi-asset layout the pipeline is moving to) or one step per
asset; the history must read the same numbers from both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import pytest

from spec2prod_assets.pipeline.history import (
    DEFAULT_WINDOW_RUNS,
    HISTORY_JOB,
    PERFORMANCE_HISTORY,
    performance_history,
    performance_history_job,
)
from spec2prod_assets.pipeline.partitions import specs_partitions
from spec2prod_assets.pipeline.stages import BASELINE_TESTS, SPEC, WORKFLOW_REPORT

MetadataByAsset = Mapping[str, Mapping[str, Any]]


def _one_step(metadata: MetadataByAsset) -> list[dg.AssetsDefinition]:
    @dg.multi_asset(specs=[dg.AssetSpec(key, partitions_def=specs_partitions) for key in metadata])
    def stand_in() -> Any:
        for key, values in metadata.items():
            yield dg.MaterializeResult(asset_key=key, metadata=dict(values))

    return [stand_in]


def _step_per_asset(metadata: MetadataByAsset) -> list[dg.AssetsDefinition]:
    def stand_in(key: str, values: Mapping[str, Any]) -> dg.AssetsDefinition:
        @dg.asset(name=key, partitions_def=specs_partitions)
        def _asset() -> dg.MaterializeResult:
            return dg.MaterializeResult(metadata=dict(values))

        return _asset

    return [stand_in(key, values) for key, values in metadata.items()]


def record_run(
    instance: dg.DagsterInstance,
    *,
    mode: str,
    spec_s: float,
    baseline_s: float,
    overhead_s: float = 1.0,
    savings_s: float = 0.0,
    partition: str = "calculator",
    report: bool = True,
    one_step: bool = True,
) -> str:
    """One workflow run's materializations, as the pipeline leaves them; returns the run id."""
    metadata: dict[str, dict[str, Any]] = {
        SPEC: {"duration_s": spec_s, "requirements_count": 4},
        BASELINE_TESTS: {"duration_s": baseline_s, "tests_passed": 7, "line_coverage_pct": 91.5},
    }
    if report:
        metadata[WORKFLOW_REPORT] = {
            "execution_mode": mode,
            "wall_s": spec_s + baseline_s + overhead_s,
            "sum_stage_s": spec_s + baseline_s,
            "critical_path_s": spec_s + baseline_s,
            "parallel_savings_s": savings_s,
            "overhead_s": overhead_s,
            "critical_path": f"{SPEC} -> {BASELINE_TESTS}",
            "duration_s": 0.05,
        }
    assets = _one_step(metadata) if one_step else _step_per_asset(metadata)
    return dg.materialize(assets, instance=instance, partition_key=partition).run_id


def history(instance: dg.DagsterInstance, window_runs: int | None = None) -> dict[str, Any]:
    """Materialize the history and return its metadata as plain values."""
    config = {} if window_runs is None else {"window_runs": window_runs}
    result = dg.materialize(
        [performance_history],
        instance=instance,
        run_config={"ops": {PERFORMANCE_HISTORY: {"config": config}}},
    )
    (materialization,) = result.asset_materializations_for_node(PERFORMANCE_HISTORY)
    return {key: getattr(value, "value", value) for key, value in materialization.metadata.items()}


@pytest.mark.parametrize("one_step", [True, False], ids=["one-step", "step-per-asset"])
def test_stage_percentiles_per_mode_from_the_runs_materializations(
    partitioned_instance: dg.DagsterInstance, one_step: bool
) -> None:
    for spec_s, baseline_s in [(1.0, 10.0), (3.0, 30.0), (2.0, 20.0)]:
        record_run(
            partitioned_instance, mode="async", spec_s=spec_s, baseline_s=baseline_s, one_step=one_step
        )
    record_run(partitioned_instance, mode="sync", spec_s=5.0, baseline_s=50.0, one_step=one_step)

    metadata = history(partitioned_instance)

    assert metadata["runs_counted"] == 4
    assert (metadata["runs_async"], metadata["runs_sync"]) == (3, 1)
    # async durations 1, 2, 3: median 2; p95 is 0.95 * 2 = 1.9 positions in, 90 % of the way from 2 to 3.
    assert metadata["spec_async_p50_s"] == 2.0
    assert metadata["spec_async_p95_s"] == pytest.approx(2.9)
    assert metadata["baseline_tests_async_p50_s"] == 20.0
    assert metadata["baseline_tests_sync_p50_s"] == 50.0


def test_overhead_and_parallel_savings_come_from_the_workflow_reports(
    partitioned_instance: dg.DagsterInstance,
) -> None:
    record_run(partitioned_instance, mode="async", spec_s=1.0, baseline_s=1.0, overhead_s=2.0, savings_s=4.0)
    record_run(partitioned_instance, mode="async", spec_s=1.0, baseline_s=1.0, overhead_s=4.0, savings_s=6.0)

    metadata = history(partitioned_instance)

    assert metadata["overhead_async_p50_s"] == 3.0
    assert metadata["parallel_savings_async_p50_s"] == 5.0
    assert metadata["wall_async_p50_s"] == 5.0  # 1 + 1 + overhead 2 or 4


def test_the_summary_table_names_every_stage_and_spec(partitioned_instance: dg.DagsterInstance) -> None:
    record_run(partitioned_instance, mode="async", spec_s=1.0, baseline_s=2.0, partition="calculator")
    record_run(partitioned_instance, mode="sync", spec_s=1.0, baseline_s=2.0, partition="text_stats")

    summary = history(partitioned_instance)["summary"]

    assert "over 2 spec(s)" in summary
    assert f"| {SPEC} | async | 1 |" in summary
    assert f"| {BASELINE_TESTS} | sync | 1 |" in summary


def test_the_runs_table_has_one_row_per_run_newest_first(partitioned_instance: dg.DagsterInstance) -> None:
    older = record_run(partitioned_instance, mode="async", spec_s=1.0, baseline_s=2.0, partition="calculator")
    newer = record_run(partitioned_instance, mode="sync", spec_s=1.0, baseline_s=2.0, partition="text_stats")

    rows = [record.data for record in history(partitioned_instance)["runs"].records]

    assert [(r["run"], r["spec"], r["mode"]) for r in rows] == [
        (newer[:8], "text_stats", "sync"),
        (older[:8], "calculator", "async"),
    ]
    assert rows[0]["overhead_s"] == 1.0


def test_the_window_keeps_only_the_newest_runs(partitioned_instance: dg.DagsterInstance) -> None:
    record_run(partitioned_instance, mode="async", spec_s=100.0, baseline_s=1.0)
    record_run(partitioned_instance, mode="async", spec_s=1.0, baseline_s=1.0)
    record_run(partitioned_instance, mode="async", spec_s=3.0, baseline_s=1.0)

    metadata = history(partitioned_instance, window_runs=2)

    assert (metadata["runs_counted"], metadata["window_runs"]) == (2, 2)
    assert metadata["spec_async_p50_s"] == 2.0


def test_a_run_without_a_report_is_not_counted(partitioned_instance: dg.DagsterInstance) -> None:
    record_run(partitioned_instance, mode="async", spec_s=1.0, baseline_s=1.0)
    record_run(partitioned_instance, mode="async", spec_s=99.0, baseline_s=99.0, report=False)

    metadata = history(partitioned_instance)

    assert metadata["runs_counted"] == 1
    assert metadata["spec_async_p95_s"] == 1.0


def test_an_empty_instance_gives_zero_runs_and_a_note(partitioned_instance: dg.DagsterInstance) -> None:
    metadata = history(partitioned_instance)

    assert metadata["runs_counted"] == 0
    assert metadata["window_runs"] == DEFAULT_WINDOW_RUNS
    assert "No workflow runs yet" in metadata["summary"]
    assert not any(key.endswith("_p50_s") for key in metadata)


def test_the_history_job_refreshes_only_the_history_in_process() -> None:
    job = dg.Definitions(assets=[performance_history], jobs=[performance_history_job]).resolve_job_def(
        HISTORY_JOB
    )
    assert job.executor_def.name == "in_process"
    assert job.asset_layer.executable_asset_keys == {dg.AssetKey(PERFORMANCE_HISTORY)}
