"""What people and CI read: a line per stage with its reasons, a summary that says why, a verdict line,
and JSON documents that carry the same facts."""

from __future__ import annotations

import json

from spec2prod_assets.cli_output import run_document, stage_line, summary_lines, verdict_line
from spec2prod_assets.report.run_result import StageFailure, StageFinished, StageResult, WorkflowResult
from spec2prod_assets.report.timings import summarize
from spec2prod_assets.spec.model import Stage

COVERAGE = StageFailure(
    stage="release_candidate",
    check="coverage_meets_threshold",
    message="line coverage 44.00% is below the spec's 80%",
)


def _result(
    component: str, *, failures: tuple[StageFailure, ...] = (), junit: str | None = None
) -> WorkflowResult:
    statuses = {"spec": "succeeded", "release_candidate": "failed" if failures else "succeeded"}
    statuses["workflow_report"] = "skipped" if failures else "succeeded"
    return WorkflowResult(
        success=not failures,
        run_id="run-1",
        component=component,
        spec_path=f"specs/{component}.md",
        target_stage=Stage.DEV,
        execution_mode="sync",
        stages_completed=tuple(n for n, s in statuses.items() if s == "succeeded"),
        stages_failed=tuple(n for n, s in statuses.items() if s == "failed"),
        stages={
            n: StageResult(stage=n, status=s, duration_s=1.5, metadata={"n": 1}) for n, s in statuses.items()
        },
        failures=failures,
        timings=summarize("run-1", [], {}, "sync"),
        report_path=f"/work/{component}/workflow_report.json",
        junit_xml=junit,
    )


def test_a_failed_stage_line_carries_its_reason() -> None:
    line = stage_line(
        StageFinished(
            component="calc",
            stage="release_candidate",
            status="failed",
            duration_s=3.25,
            failures=(COVERAGE,),
        )
    )
    assert line.split()[:4] == ["calc", "release_candidate", "failed", "3.25s"]
    assert line.endswith("coverage_meets_threshold: line coverage 44.00% is below the spec's 80%")


def test_the_summary_of_a_failed_run_says_why_and_what_did_not_run() -> None:
    lines = summary_lines(_result("calc", failures=(COVERAGE,)))
    assert lines[0].startswith("calc: FAILED (run run-1, sync mode, to dev)")
    assert lines[1].startswith("  1 succeeded, 1 failed, 1 skipped; wall 0.00s")
    assert "  not run: workflow_report" in lines
    assert (
        "    release_candidate: coverage_meets_threshold: line coverage 44.00% is below the spec's 80%"
    ) in lines
    assert lines[-1] == "  report: /work/calc/workflow_report.json"


def test_the_summary_names_the_junit_xml_when_there_is_one() -> None:
    assert summary_lines(_result("calc", junit="/j.xml"))[-1] == "  junit xml: /j.xml"


def test_the_verdict_names_the_failed_components() -> None:
    results = [_result("calc"), _result("text", failures=(COVERAGE,))]
    assert verdict_line(results) == "spec2prod: FAILED: 1 of 2 runs failed (text)"
    assert verdict_line(results[:1]) == "spec2prod: PASSED: 1 of 1 runs succeeded"


def test_the_json_document_holds_every_run_with_failures_as_check_or_error() -> None:
    error = StageFailure(stage="spec", error="SpecError", message="specs/x.md:3: bad")
    document = json.loads(json.dumps(run_document([_result("calc", failures=(COVERAGE, error))], "/out.xml")))
    assert document["success"] is False and document["junit_xml"] == "/out.xml"
    [run] = document["runs"]
    assert run["failures"] == [
        {"stage": "release_candidate", "check": "coverage_meets_threshold", "message": COVERAGE.message},
        {"stage": "spec", "error": "SpecError", "message": "specs/x.md:3: bad"},
    ]
    assert run["stages"]["spec"] == {
        "stage": "spec",
        "status": "succeeded",
        "duration_s": 1.5,
        "metadata": {"n": 1},
    }
    assert run["report_path"] == "/work/calc/workflow_report.json"
