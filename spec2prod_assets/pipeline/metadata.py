"""Domain results as Dagster metadata, with the stable keys people and tools read (DESIGN.md).

Numbers stay numbers so the UI plots them across materializations; lists become tables whose schema is
declared here, so a table keeps its column types even when it has no rows.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import dagster as dg

from spec2prod_assets.deploy.model import DeploymentOutcome
from spec2prod_assets.environment import ComponentEnvironment
from spec2prod_assets.generation.funnel import FunnelResult
from spec2prod_assets.generation.runner import GeneratedTests
from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.refactor.refactoring import RefactorResult
from spec2prod_assets.release.candidate import ReleaseCandidate
from spec2prod_assets.report.timings import TimingSummary
from spec2prod_assets.runtime.sandbox import sandbox_mode
from spec2prod_assets.spec.model import ComponentSpec
from spec2prod_assets.testing.coverage_report import CoverageReport
from spec2prod_assets.testing.pytest_run import TestRun

MetadataDict = dict[str, Any]
TableValue = str | int | float | bool | None


def table_schema(*columns: str | tuple[str, str]) -> dg.TableSchema:
    """Columns by name, typed "string" unless given as `(name, type)`."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(column) if isinstance(column, str) else dg.TableColumn(*column)
            for column in columns
        ]
    )


REQUIREMENT_COLUMNS = table_schema("id", "kind", "priority", "text")
TEST_OUTCOME_COLUMNS = table_schema("test", "outcome", ("duration_s", "float"))
REJECTED_TEST_COLUMNS = table_schema("test", "stage", "reason")
TASK_COLUMNS = table_schema("task", "state", "detail", ("cost_usd", "float"))
HISTORY_COLUMNS = table_schema("time", "release", "action", "outcome", "health", ("duration_s", "float"))
STAGE_COLUMNS = table_schema(
    "stage",
    "status",
    ("start_s", "float"),
    ("end_s", "float"),
    ("duration_s", "float"),
    ("launch_s", "float"),
    ("on_critical_path", "bool"),
)


def sandbox_metadata() -> MetadataDict:
    """Where this stage ran the code under test: "bubblewrap", or "off" when the user opted out, so an
    unsandboxed verdict is visible on every materialization it shaped."""
    return {"sandbox": sandbox_mode()}


def seconds_since(started: float) -> float:
    """Elapsed seconds since a `time.perf_counter()` reading, for `duration_s`."""
    return round(time.perf_counter() - started, 3)


STARTED_AT = "started_at"
_T = TypeVar("_T")


def versioned_output(
    value: _T, *, version: str, metadata: MetadataDict, output_name: str = "result"
) -> dg.Output[_T]:
    """An output with a data version computed from its content, so Dagster's UI can tell an unchanged
    rerun from a change. The parameter is marked beta in Dagster 1.13; its notice would reach every CLI
    user's console from the step workers (which do not share the CLI's warning filters), so it is
    silenced here, at the one call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.Output(
            value, output_name=output_name, metadata=metadata, data_version=dg.DataVersion(version)
        )


@dataclass(frozen=True)
class StageClock:
    """When a stage began: by the wall clock, so the run report can place the stage in the run when several
    stages share one step (and so one pair of step events), and by the monotonic clock for its duration."""

    wall: float
    perf: float

    @classmethod
    def start(cls) -> StageClock:
        return cls(wall=time.time(), perf=time.perf_counter())

    def metadata(self) -> MetadataDict:
        """`started_at` (a timestamp the UI shows as a date) and `duration_s` (a number it plots)."""
        return {STARTED_AT: dg.MetadataValue.timestamp(self.wall), "duration_s": seconds_since(self.perf)}


def table(schema: dg.TableSchema, rows: Iterable[Mapping[str, TableValue]]) -> dg.TableMetadataValue:
    """Rows keyed by the schema's column names as a Dagster table (the UI renders it with column types)."""
    names = [column.name for column in schema.columns]
    records = []
    for row in rows:
        if list(row) != names:
            raise ValueError(f"table row has columns {list(row)}, the schema {names}")
        records.append(dg.TableRecord(dict(row)))
    return dg.MetadataValue.table(records=records, schema=schema)


def spec_metadata(spec: ComponentSpec) -> MetadataDict:
    requirements = table(
        REQUIREMENT_COLUMNS,
        (
            {"id": r.id, "kind": r.kind.value, "priority": r.priority.value, "text": r.text}
            for r in spec.requirements
        ),
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
        "requirements": requirements,
    }


def test_run_metadata(run: TestRun) -> MetadataDict:
    outcomes = table(
        TEST_OUTCOME_COLUMNS,
        (
            {"test": t.test_id, "outcome": t.outcome, "duration_s": round(t.duration_s, 4)}
            for t in run.outcomes
        ),
    )
    metadata: MetadataDict = {
        "tests_passed": run.passed,
        "tests_failed": run.failed,
        "tests_skipped": run.count("skipped"),
        "test_outcomes": outcomes,
    }
    if run.coverage is not None:
        uncovered = run.coverage.uncovered_lines()
        metadata |= {
            **coverage_metadata(run.coverage),
            "statements": run.coverage.statements,
            "branches": run.coverage.branches,
            "uncovered_lines": dg.MetadataValue.md(
                "\n".join(f"- `{path}`: {_line_ranges(lines)}" for path, lines in uncovered.items())
                or "All lines covered."
            ),
        }
    else:
        metadata |= coverage_metadata(None)
    return metadata


def coverage_metadata(coverage: CoverageReport | None) -> MetadataDict:
    """The three measures, each as coverage.py computes it; 0 when nothing was measured."""
    return {
        "line_coverage_pct": coverage.line_pct if coverage else 0.0,
        "branch_coverage_pct": coverage.branch_pct if coverage else 0.0,
        "total_coverage_pct": coverage.total_pct if coverage else 0.0,
    }


def layout_metadata(layout: ComponentLayout, run: TestRun) -> MetadataDict:
    """Where the tests came from and how many were found: a baseline of 0 must be visible, with why."""
    return {
        "tests_found": run.collected,
        "tests_found_by": layout.tests_found_by,
        "test_paths": ", ".join(layout.test_paths) or "(none)",
        "config_files": ", ".join(layout.config_files) or "(none)",
    }


def environment_metadata(environment: ComponentEnvironment) -> MetadataDict:
    """Which environment ran the component (its key names the dependency set) and whether it was reused."""
    return {
        "environment": environment.key,
        "dependencies_count": len(environment.dependencies),
        "environment_reused": environment.reused,
    }


def refactor_metadata(result: RefactorResult) -> MetadataDict:
    return {
        "refactor_kept": result.kept,
        "refactor_reason": result.reason,
        "files_changed": result.files_changed,
        "lint_violations_before": result.lint_before.violations,
        "lint_violations_after": result.lint_after.violations,
        "lint_rules": result.lint_before.rules,
        "complexity_before": result.lint_before.complexity,
        "complexity_after": result.lint_after.complexity,
        "lines_of_code_before": result.lint_before.lines_of_code,
        "lines_of_code_after": result.lint_after.lines_of_code,
        "patch": dg.MetadataValue.path(result.patch_path),
        "tree": dg.MetadataValue.path(result.tree_path),
    }


def generated_tests_metadata(result: GeneratedTests) -> MetadataDict:
    outcome, funnel = result.outcome, result.funnel
    rejected = table(
        REJECTED_TEST_COLUMNS,
        (
            {"test": r.test or f"{r.file} (whole file)", "stage": r.stage, "reason": r.reason}
            for r in funnel.rejections
        ),
    )
    tasks = table(
        TASK_COLUMNS,
        (
            {"task": s.task_id, "state": s.state.value, "detail": s.detail, "cost_usd": s.cost_usd}
            for s in outcome.statuses
        ),
    )
    metadata: MetadataDict = {
        "generator": outcome.generator,
        "tasks_submitted": outcome.tasks_submitted,
        "tasks_succeeded": outcome.tasks_succeeded,
        "cache_hits": outcome.cache_hits,
        "funnel_cached": result.funnel_cached,
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
        "tasks": tasks,
        "rejected_tests": rejected,
        "accepted_tests": dg.MetadataValue.md(_accepted(funnel)),
    }
    budgets = [s.time_budget_s for s in outcome.statuses if s.time_budget_s is not None]
    if budgets:  # CrossHair's budget per module, from the module's size and the run's deadline
        metadata["crosshair_budget_s"] = max(budgets)
    if outcome.generator == "openhands":
        conversations = {h.task_id: h.backend_id for h in outcome.handles}
        metadata["conversation_ids"] = dg.MetadataValue.json(conversations)
        links = [f"- [{s.task_id}]({s.link})" for s in outcome.statuses if s.link]
        if links:
            metadata["conversations"] = dg.MetadataValue.md("\n".join(links))
    if outcome.degraded_reason:
        metadata["degraded_reason"] = outcome.degraded_reason
    return metadata


def _accepted(funnel: FunnelResult) -> str:
    """Each accepted test, and why: new coverage, or a surviving mutant it kills."""
    reasons = {a.test: a.reason for a in funnel.acceptances}
    lines = [f"- `{t}`" + (f": {reasons[t]}" if t in reasons else "") for t in funnel.accepted_tests]
    return "\n".join(lines) or "None."


def release_metadata(candidate: ReleaseCandidate) -> MetadataDict:
    run = candidate.test_run
    return {
        "bundle_sha256": candidate.bundle_sha256,
        "bundle": dg.MetadataValue.path(candidate.bundle_path),
        "source_revision": candidate.source_revision,
        "tests_passed": run.passed,
        "tests_failed": run.failed,
        **coverage_metadata(run.coverage),
        "existing_tests_ran": candidate.existing_tests_ran,
        "tests_found_by": candidate.tests_found_by,
        **({"junit_xml": dg.MetadataValue.path(candidate.junit_xml)} if candidate.junit_xml else {}),
        "lint_violations": candidate.lint.violations,
        "lint_violations_baseline": candidate.lint_baseline.violations,
        "lint_rules": candidate.lint.rules,
        "generated_tests_included": candidate.generated_tests_included,
    }


def deployment_metadata(outcome: DeploymentOutcome) -> MetadataDict:
    history = table(
        HISTORY_COLUMNS,
        (
            {
                "time": h.time,
                "release": h.release_id,
                "action": h.action,
                "outcome": h.outcome,
                "health": h.health,
                "duration_s": round(h.duration_s, 3),
            }
            for h in outcome.history_tail
        ),
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
        "history_tail": history,
    }


def report_metadata(summary: TimingSummary) -> MetadataDict:
    return {
        "execution_mode": summary.execution_mode,
        "wall_s": summary.wall_s,
        "sum_stage_s": summary.sum_stage_s,
        "critical_path_s": summary.critical_path_s,
        "parallel_savings_s": summary.parallel_savings_s,
        "overhead_s": summary.overhead_s,
        "critical_path": " -> ".join(summary.critical_path),
        "stages": table(STAGE_COLUMNS, summary.stage_rows()),
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
