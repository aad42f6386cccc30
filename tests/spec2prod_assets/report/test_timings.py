"""Stage timings: the critical path, what overlapping stages saved, the per-stage rows, the JSON report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spec2prod_assets.report.timings import StageTiming, critical_path, summarize, write_json_report
from spec2prod_assets.storage import atomic_files

# A diamond: load -> (fast, slow) -> merge.
DIAMOND = {"load": [], "fast": ["load"], "slow": ["load"], "merge": ["fast", "slow"]}


def _stage(name: str, start: float, end: float) -> StageTiming:
    return StageTiming(stage=name, start=start, end=end, status="SUCCESS")


def _overlapping() -> list[StageTiming]:
    """fast and slow run side by side: 1 + 3 + 2 + 1 = 7 s of stages in 5 s of wall time."""
    return [_stage("load", 0, 1), _stage("slow", 1, 4), _stage("fast", 1, 3), _stage("merge", 4, 5)]


def _sequential() -> list[StageTiming]:
    return [_stage("load", 0, 1), _stage("slow", 1, 4), _stage("fast", 4, 6), _stage("merge", 6, 7)]


def test_critical_path_of_a_diamond_goes_through_the_slower_branch() -> None:
    path, seconds = critical_path(_overlapping(), DIAMOND)
    assert path == ["load", "slow", "merge"]
    assert seconds == pytest.approx(5.0)


def test_critical_path_ignores_upstream_stages_that_did_not_run() -> None:
    path, seconds = critical_path([_stage("fast", 0, 2), _stage("merge", 2, 3)], DIAMOND)
    assert (path, seconds) == (["fast", "merge"], pytest.approx(3.0))


def test_overlapping_stages_save_the_sum_minus_the_wall_time() -> None:
    summary = summarize("run-1", _overlapping(), DIAMOND, "async")
    assert (summary.wall_s, summary.sum_stage_s, summary.critical_path_s) == (5.0, 7.0, 5.0)
    assert summary.parallel_savings_s == pytest.approx(2.0)
    assert summary.critical_path == ("load", "slow", "merge")


def test_sequential_stages_save_nothing() -> None:
    summary = summarize("run-1", _sequential(), DIAMOND, "sync")
    assert (summary.wall_s, summary.sum_stage_s) == (7.0, 7.0)
    assert summary.parallel_savings_s == 0.0


def test_gaps_between_sequential_stages_do_not_count_as_savings_or_hide_overlap() -> None:
    with_gaps = [_stage("load", 0, 1), _stage("slow", 2, 5), _stage("fast", 2, 4), _stage("merge", 6, 7)]
    summary = summarize("run-1", with_gaps, DIAMOND, "async")
    assert summary.wall_s == 7.0
    assert summary.parallel_savings_s == pytest.approx(2.0)
    spaced_out = [_stage("load", 0, 1), _stage("slow", 2, 5), _stage("fast", 6, 8), _stage("merge", 9, 10)]
    assert summarize("run-1", spaced_out, DIAMOND, "sync").parallel_savings_s == 0.0


def test_the_gaps_the_executor_leaves_between_steps_are_the_overhead() -> None:
    """load 0-1, then 1 s to launch the next steps, slow 2-5 beside fast 2-4, 1 s more, merge 6-7: the
    critical path is 1 + 3 + 1 = 5 s of work in 7 s of wall time, 2 s spent between steps."""
    with_gaps = [_stage("load", 0, 1), _stage("slow", 2, 5), _stage("fast", 2, 4), _stage("merge", 6, 7)]
    assert summarize("run-1", with_gaps, DIAMOND, "async").overhead_s == pytest.approx(2.0)


def test_steps_back_to_back_have_no_overhead() -> None:
    assert summarize("run-1", _overlapping(), DIAMOND, "async").overhead_s == 0.0


def test_a_run_without_finished_stages_summarizes_to_zeros() -> None:
    summary = summarize("run-1", [], DIAMOND, "sync")
    assert (summary.wall_s, summary.sum_stage_s, summary.parallel_savings_s, summary.stages) == (0, 0, 0, ())


def test_the_per_stage_rows_are_relative_to_the_first_start() -> None:
    shifted = [_stage(s.stage, s.start + 1_700_000_000, s.end + 1_700_000_000) for s in _overlapping()]
    stage_rows = summarize("run-1", shifted, DIAMOND, "async").stage_rows()
    assert all(
        list(row) == ["stage", "status", "start_s", "end_s", "duration_s", "launch_s", "on_critical_path"]
        for row in stage_rows
    )
    rows = {row["stage"]: row for row in stage_rows}
    assert rows["load"]["start_s"] == 0.0
    assert rows["merge"]["end_s"] == 5.0
    assert rows["slow"]["on_critical_path"] is True and rows["fast"]["on_critical_path"] is False
    assert [row["stage"] for row in stage_rows] == ["load", "slow", "fast", "merge"], "in start order"


def test_the_json_report_holds_the_summary_and_one_row_per_stage(tmp_path: Path) -> None:
    summary = summarize("run-1", _overlapping(), DIAMOND, "async")
    path = write_json_report(summary, {"partition": "calculator"}, tmp_path / "reports" / "report.json")
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["partition"] == "calculator"
    assert (report["execution_mode"], report["parallel_savings_s"]) == ("async", 2.0)
    assert {row["stage"]: row["duration_s"] for row in report["stages"]} == {
        "load": 1.0,
        "slow": 3.0,
        "fast": 2.0,
        "merge": 1.0,
    }
    assert set(report["stages"][0]) == {"stage", "start", "end", "status", "launch_s", "duration_s"}
    assert [p.name for p in path.parent.iterdir()] == ["report.json"], "a temporary file was left behind"


def test_a_failed_report_write_leaves_the_previous_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.json"
    write_json_report(summarize("run-1", _sequential(), DIAMOND, "sync"), {}, path)
    previous = path.read_text(encoding="utf-8")

    def refuse(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic_files.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_json_report(summarize("run-2", _overlapping(), DIAMOND, "async"), {}, path)
    assert path.read_text(encoding="utf-8") == previous
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_the_json_report_of_a_clean_run_says_it_has_no_failures(tmp_path: Path) -> None:
    path = write_json_report(summarize("run-1", _sequential(), DIAMOND, "sync"), {}, tmp_path / "r.json")
    assert json.loads(path.read_text(encoding="utf-8"))["failures"] == []
