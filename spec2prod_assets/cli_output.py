"""What `spec2prod run` and `validate` print: for people, a line per stage, a summary with the reasons and a
verdict; for CI, one JSON document. Only text is built here (no Dagster), so it is tested on hand-made
results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spec2prod_assets.report.run_result import StageFinished, WorkflowResult
from spec2prod_assets.run_plan import PlannedRun

STAGE_WIDTH = 22


def stage_line(ended: StageFinished) -> str:
    """`calculator  baseline_tests          succeeded    3.21s`, printed as the stage ends."""
    line = f"{ended.component}  {ended.stage:<{STAGE_WIDTH}} {ended.status:<9} {ended.duration_s:>7.2f}s"
    reasons = "; ".join(failure.line() for failure in ended.failures)
    return f"{line}  {reasons}" if reasons else line


def run_starts_line(planned: PlannedRun, mode: str) -> str:
    return (
        f"{planned.spec.slug}: {planned.spec.spec_path} to {planned.stage.value} "
        f"({mode} mode, project {planned.project_root})"
    )


def summary_lines(result: WorkflowResult) -> list[str]:
    """After the stage lines: the counts and timings, the stages that never ran, why the run failed (if it
    did), and where the report and the JUnit XML are."""
    verdict = "succeeded" if result.success else "FAILED"
    counts: dict[str, list[str]] = {}
    for stage in result.stages.values():
        counts.setdefault(stage.status, []).append(stage.stage)
    t = result.timings
    lines = [
        f"{result.component}: {verdict} (run {result.run_id}, {result.execution_mode} mode, "
        f"to {result.target_stage.value})",
        "  "
        + ", ".join(f"{len(names)} {status}" for status, names in counts.items())
        + f"; wall {t.wall_s:.2f}s, stages {t.sum_stage_s:.2f}s, critical path {t.critical_path_s:.2f}s, "
        f"saved by parallelism {t.parallel_savings_s:.2f}s, orchestration overhead {t.overhead_s:.2f}s",
    ]
    if counts.get("skipped"):
        lines.append(f"  not run: {', '.join(counts['skipped'])}")
    if result.failures:
        lines.append("  why:")
        lines += [f"    {failure.stage}: {failure.line()}" for failure in result.failures]
    elif not result.success:
        lines.append("  why: the run failed without a recorded reason; rerun with -v for Dagster's event log")
    lines.append(f"  report: {result.report_path}")
    if result.junit_xml:
        lines.append(f"  junit xml: {result.junit_xml}")
    return lines


def verdict_line(results: Sequence[WorkflowResult]) -> str:
    """The last line: what CI greps for and what a person reads first."""
    failed = [result.component for result in results if not result.success]
    if not failed:
        return f"spec2prod: PASSED: {len(results)} of {len(results)} runs succeeded"
    return f"spec2prod: FAILED: {len(failed)} of {len(results)} runs failed ({', '.join(failed)})"


def run_document(
    results: Sequence[WorkflowResult], junit_xml: str | None, problems: Sequence[str] = ()
) -> dict[str, Any]:
    """`--json`: every run with its stages, timings, failures, report and JUnit XML paths; with bad input,
    no run and the problems, one line each, as the console shows them."""
    return {
        "success": not problems and all(result.success for result in results),
        "runs": [result.as_json() for result in results],
        "junit_xml": junit_xml,
        "problems": list(problems),
    }


def valid_spec_line(planned: PlannedRun) -> str:
    spec = planned.spec
    owners = f", owners {', '.join(spec.owners)}" if spec.owners else ""
    return f"ok  {spec.spec_path}  ({spec.slug}, target {spec.target_stage.value}{owners})"


def validation_document(planned: Sequence[PlannedRun], problems: Sequence[str]) -> dict[str, Any]:
    """`validate --json`: the specs that passed, as they were read, and one line per problem."""
    return {
        "valid": not problems,
        "specs": [
            {
                "spec": run.spec.spec_path,
                "project_root": str(run.project_root),
                "component": run.spec.slug,
                "target_stage": run.spec.target_stage.value,
                "source_path": run.spec.source_path,
                "tests_path": run.spec.tests_path,
                "owners": list(run.spec.owners),
            }
            for run in planned
        ],
        "problems": list(problems),
    }
