"""Domain results as Dagster metadata, with the stable keys people and tools read (DESIGN.md).

Numbers stay numbers so the UI plots them across materializations; lists become tables.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pandas as pd

from spec2prod_assets.deploy.model import DeploymentOutcome
from spec2prod_assets.generation.runner import GeneratedTests
from spec2prod_assets.refactor.refactoring import RefactorResult
from spec2prod_assets.release.candidate import ReleaseCandidate
from spec2prod_assets.spec.model import ComponentSpec
from spec2prod_assets.testing.pytest_run import TestRun

MetadataDict = dict[str, Any]


def seconds_since(started: float) -> float:
    """Elapsed seconds since a `time.perf_counter()` reading, for `duration_s`."""
    return round(time.perf_counter() - started, 3)


def table(frame: pd.DataFrame) -> dg.TableMetadataValue:
    """A pandas frame as a Dagster table (the UI renders it with column types)."""
    columns = [dg.TableColumn(name=str(name), type=_column_type(frame[name].dtype)) for name in frame.columns]
    records = [dg.TableRecord(_plain(row)) for row in frame.to_dict(orient="records")]
    return dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))


def spec_metadata(spec: ComponentSpec) -> MetadataDict:
    requirements = pd.DataFrame(
        [
            {"id": r.id, "kind": r.kind.value, "priority": r.priority.value, "text": r.text}
            for r in spec.requirements
        ],
        columns=["id", "kind", "priority", "text"],
    )
    return {
        "component": spec.name,
        "version": spec.version,
        "target_stage": spec.target_stage.value,
        "spec_path": spec.spec_path,
        "spec_sha256": spec.spec_sha256,
        "requirements_count": len(spec.requirements),
        "acceptance_criteria_count": len(spec.acceptance_criteria),
        "coverage_threshold_pct": float(spec.quality_gates.coverage_threshold_pct),
        "requirements": table(requirements),
    }


def test_run_metadata(run: TestRun) -> MetadataDict:
    outcomes = pd.DataFrame(
        [
            {"test": t.test_id, "outcome": t.outcome, "duration_s": round(t.duration_s, 4)}
            for t in run.outcomes
        ],
        columns=["test", "outcome", "duration_s"],
    )
    metadata: MetadataDict = {
        "tests_passed": run.passed,
        "tests_failed": run.failed,
        "tests_skipped": run.count("skipped"),
        "test_outcomes": table(outcomes),
    }
    if run.coverage is not None:
        uncovered = run.coverage.uncovered_lines()
        metadata |= {
            "line_coverage_pct": run.coverage.line_pct,
            "branch_coverage_pct": run.coverage.branch_pct,
            "statements": run.coverage.statements,
            "uncovered_lines": dg.MetadataValue.md(
                "\n".join(f"- `{path}`: {_line_ranges(lines)}" for path, lines in uncovered.items())
                or "All lines covered."
            ),
        }
    else:
        metadata |= {"line_coverage_pct": 0.0, "branch_coverage_pct": 0.0}
    return metadata


def refactor_metadata(result: RefactorResult) -> MetadataDict:
    return {
        "refactor_kept": result.kept,
        "refactor_reason": result.reason,
        "files_changed": result.files_changed,
        "lint_violations_before": result.lint_before.violations,
        "lint_violations_after": result.lint_after.violations,
        "complexity_before": result.lint_before.complexity,
        "complexity_after": result.lint_after.complexity,
        "lines_of_code_before": result.lint_before.lines_of_code,
        "lines_of_code_after": result.lint_after.lines_of_code,
        "patch": dg.MetadataValue.path(result.patch_path),
        "tree": dg.MetadataValue.path(result.tree_path),
    }


def generated_tests_metadata(result: GeneratedTests) -> MetadataDict:
    outcome, funnel = result.outcome, result.funnel
    rejected = pd.DataFrame(
        [
            {"test": r.test or f"{r.file} (whole file)", "stage": r.stage, "reason": r.reason}
            for r in funnel.rejections
        ],
        columns=["test", "stage", "reason"],
    )
    tasks = pd.DataFrame(
        [
            {"task": s.task_id, "state": s.state.value, "detail": s.detail, "cost_usd": s.cost_usd}
            for s in outcome.statuses
        ],
        columns=["task", "state", "detail", "cost_usd"],
    )
    metadata: MetadataDict = {
        "generator": outcome.generator,
        "tasks_submitted": outcome.tasks_submitted,
        "tasks_succeeded": outcome.tasks_succeeded,
        "submission_s": outcome.submission_s,
        "collection_s": outcome.collection_s,
        "tests_generated": funnel.tests_generated,
        "tests_collected": funnel.tests_collected,
        "tests_passing": funnel.tests_passing,
        "tests_reliable": funnel.tests_reliable,
        "tests_accepted": funnel.tests_accepted,
        "coverage_before_pct": funnel.coverage_before_pct,
        "coverage_after_pct": funnel.coverage_after_pct,
        "branch_coverage_before_pct": funnel.branch_coverage_before_pct,
        "branch_coverage_after_pct": funnel.branch_coverage_after_pct,
        "cost_usd": outcome.cost_usd,
        "tokens": outcome.tokens,
        "tasks": table(tasks),
        "rejected_tests": table(rejected),
        "accepted_tests": dg.MetadataValue.md(
            "\n".join(f"- `{t}`" for t in funnel.accepted_tests) or "None."
        ),
    }
    if outcome.generator == "openhands":
        conversations = {h.task_id: h.backend_id for h in outcome.handles}
        metadata["conversation_ids"] = dg.MetadataValue.json(conversations)
        links = [f"- [{s.task_id}]({s.link})" for s in outcome.statuses if s.link]
        if links:
            metadata["conversations"] = dg.MetadataValue.md("\n".join(links))
    if outcome.degraded_reason:
        metadata["degraded_reason"] = outcome.degraded_reason
    return metadata


def release_metadata(candidate: ReleaseCandidate) -> MetadataDict:
    run = candidate.test_run
    return {
        "bundle_sha256": candidate.bundle_sha256,
        "bundle": dg.MetadataValue.path(candidate.bundle_path),
        "source_revision": candidate.source_revision,
        "tests_passed": run.passed,
        "tests_failed": run.failed,
        "line_coverage_pct": run.coverage.line_pct if run.coverage else 0.0,
        "branch_coverage_pct": run.coverage.branch_pct if run.coverage else 0.0,
        "lint_violations": candidate.lint.violations,
        "generated_tests_included": candidate.generated_tests_included,
    }


def deployment_metadata(outcome: DeploymentOutcome) -> MetadataDict:
    history = pd.DataFrame(
        [
            {
                "time": h.time,
                "release": h.release_id,
                "action": h.action,
                "outcome": h.outcome,
                "health": h.health,
                "duration_s": round(h.duration_s, 3),
            }
            for h in outcome.history_tail
        ],
        columns=["time", "release", "action", "outcome", "health", "duration_s"],
    )
    return {
        "environment": outcome.environment,
        "release_id": outcome.release_id,
        "bundle_sha256": outcome.bundle_sha256,
        "healthy": outcome.healthy,
        "rolled_back": outcome.rolled_back,
        "live_release_id": outcome.live_release_id or "",
        "health": outcome.health_summary,
        "health_output": dg.MetadataValue.md(f"```\n{outcome.health_output[-3000:]}\n```"),
        "history_tail": table(history),
    }


def _line_ranges(lines: list[int]) -> str:
    """`[1, 2, 3, 7]` -> `1-3, 7`: readable in the UI even for long lists."""
    ranges: list[str] = []
    start = previous = None
    for line in sorted(lines):
        if start is None:
            start = previous = line
        elif previous is not None and line == previous + 1:
            previous = line
        else:
            ranges.append(f"{start}-{previous}" if start != previous else str(start))
            start = previous = line
    if start is not None:
        ranges.append(f"{start}-{previous}" if start != previous else str(start))
    return ", ".join(ranges)


def _column_type(dtype: object) -> str:
    kind = getattr(dtype, "kind", "O")
    return {"i": "int", "u": "int", "f": "float", "b": "bool"}.get(kind, "string")


def _plain(row: Mapping[object, object]) -> dict[str, str | int | float | bool | None]:
    plain: dict[str, str | int | float | bool | None] = {}
    for key, value in row.items():
        if hasattr(value, "item"):
            value = value.item()  # numpy scalar -> Python scalar
        plain[str(key)] = (
            value if isinstance(value, str | int | float | bool) or value is None else str(value)
        )
    return plain
