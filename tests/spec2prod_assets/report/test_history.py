"""The performance history's arithmetic on plain records: percentiles per stage and mode, run totals,
stable metadata keys, the Markdown table, and an empty window."""

from __future__ import annotations

import math

import pytest

from spec2prod_assets.report.history import (
    RunTimings,
    key_part,
    run_rows,
    runs_frame,
    stages_frame,
    summarize_history,
)


def run(
    run_id: str,
    mode: str = "async",
    *,
    at: float = 0.0,
    partition: str = "calculator",
    stages: dict[str, float] | None = None,
    wall_s: float | None = None,
    overhead_s: float | None = None,
    parallel_savings_s: float | None = None,
) -> RunTimings:
    return RunTimings(
        run_id=run_id,
        finished_at=at,
        partition=partition,
        execution_mode=mode,
        wall_s=wall_s,
        overhead_s=overhead_s,
        parallel_savings_s=parallel_savings_s,
        stage_durations=stages or {},
    )


def test_stage_percentiles_interpolate_between_the_closest_runs() -> None:
    # Five async runs whose `spec` took 1..5 s: the median is the middle one (3 s); the 95th percentile
    # sits 0.95 * (5 - 1) = 3.8 positions in, i.e. 80 % of the way from 4 s to 5 s.
    runs = [run(f"r{i}", stages={"spec": float(i)}) for i in (5, 1, 4, 2, 3)]
    metrics = summarize_history(runs).metrics()
    assert metrics["spec_async_p50_s"] == 3.0
    assert metrics["spec_async_p95_s"] == pytest.approx(4.8)
    assert metrics["runs_counted"] == 5


def test_modes_are_summarized_apart() -> None:
    runs = [
        run("a1", "async", stages={"refactored_code": 2.0}),
        run("a2", "async", stages={"refactored_code": 4.0}),
        run("s1", "sync", stages={"refactored_code": 10.0}),
    ]
    metrics = summarize_history(runs).metrics()
    assert (metrics["refactored_code_async_p50_s"], metrics["refactored_code_sync_p50_s"]) == (3.0, 10.0)
    assert (metrics["runs_async"], metrics["runs_sync"]) == (2, 1)


def test_overhead_and_parallel_savings_per_mode() -> None:
    runs = [
        run("a1", "async", overhead_s=1.0, parallel_savings_s=6.0, wall_s=20.0),
        run("a2", "async", overhead_s=3.0, parallel_savings_s=8.0, wall_s=22.0),
        run("s1", "sync", overhead_s=0.5, parallel_savings_s=0.0, wall_s=30.0),
    ]
    metrics = summarize_history(runs).metrics()
    assert metrics["overhead_async_p50_s"] == 2.0
    assert metrics["parallel_savings_async_p50_s"] == 7.0
    assert metrics["parallel_savings_sync_p50_s"] == 0.0
    assert metrics["wall_sync_p95_s"] == 30.0


def test_a_total_the_report_did_not_carry_is_left_out_not_counted_as_zero() -> None:
    # An older report without overhead_s: the median rests on the two runs that have it.
    runs = [run("old", overhead_s=None), run("n1", overhead_s=4.0), run("n2", overhead_s=6.0)]
    summary = summarize_history(runs)
    assert summary.metrics()["overhead_async_p50_s"] == 5.0
    assert summary.measures[("overhead", "async")].runs == 2


def test_a_stage_no_run_of_a_mode_reached_has_no_key() -> None:
    runs = [
        run("a", "async", stages={"spec": 1.0, "production_deployment": 2.0}),
        run("s", "sync", stages={"spec": 1.0}),
    ]
    metrics = summarize_history(runs).metrics()
    assert "production_deployment_async_p50_s" in metrics
    assert "production_deployment_sync_p50_s" not in metrics


def test_every_metric_is_a_plain_number() -> None:
    runs = [run("a", stages={"spec": 1.25}, wall_s=3.0, overhead_s=0.5), run("b", "sync", wall_s=2.0)]
    values = summarize_history(runs).metrics().values()
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    assert not any(math.isnan(v) for v in values)


def test_an_empty_window_counts_zero_runs_and_says_so() -> None:
    summary = summarize_history([])
    assert summary.metrics() == {"runs_counted": 0, "specs_counted": 0}
    assert "No workflow runs yet" in summary.markdown()


def test_the_table_lists_stages_in_pipeline_order_then_unknown_stages_then_totals() -> None:
    runs = [run("a", stages={"zz_new": 1.0, "baseline_tests": 2.0, "spec": 3.0}, overhead_s=1.0)]
    table = summarize_history(runs, stage_order=["spec", "baseline_tests"]).markdown()
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    assert rows == ["Measure", "spec", "baseline_tests", "zz_new", "*overhead*"]


def test_the_table_counts_runs_and_specs() -> None:
    runs = [run("a", partition="calculator"), run("b", partition="text_stats"), run("c", "sync")]
    table = summarize_history(runs).markdown()
    assert table.startswith("Last 3 workflow runs (2 async, 1 sync) over 2 spec(s)")


def test_runs_frame_is_newest_first_with_nan_for_missing_totals() -> None:
    frame = runs_frame([run("old", at=1.0, wall_s=5.0), run("new", at=2.0)])
    assert list(frame["run_id"]) == ["new", "old"]
    walls = frame["wall_s"].tolist()
    assert math.isnan(walls[0]) and walls[1] == 5.0


def test_run_rows_hold_none_where_a_total_is_missing() -> None:
    rows = run_rows([run("0123456789", at=1.0, wall_s=5.0, overhead_s=None), run("later", "sync", at=2.0)])
    assert [(r["run"], r["mode"], r["wall_s"]) for r in rows] == [
        ("later", "sync", None),
        ("01234567", "async", 5.0),
    ]
    assert rows[1]["overhead_s"] is None and rows[1]["spec"] == "calculator"


def test_stages_frame_has_one_row_per_run_and_stage() -> None:
    frame = stages_frame([run("a", stages={"spec": 1.0, "baseline_tests": 2.0}), run("b")])
    assert sorted(zip(frame["run_id"], frame["stage"], strict=True)) == [
        ("a", "baseline_tests"),
        ("a", "spec"),
    ]


@pytest.mark.parametrize(
    ("name", "part"),
    [("async", "async"), ("Multi Process", "multi_process"), ("in-process!", "in_process"), ("", "unknown")],
)
def test_key_part_keeps_metadata_keys_to_letters_digits_and_underscores(name: str, part: str) -> None:
    assert key_part(name) == part
