"""Run a component's tests with line and branch coverage in a subprocess, and read the results strictly.

A run whose results cannot be read (timeout, crash, missing or malformed report) raises
`TestRunError`: a quality gate must fail closed, so an unreadable run is never counted as a pass.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from spec2prod_assets.runtime.processes import CommandResult, clean_env, python_tool, run_command
from spec2prod_assets.storage.working_copies import relative_to_tree
from spec2prod_assets.testing.coverage_report import CoverageReport, ModuleCoverage
from spec2prod_assets.testing.outcomes_plugin import OUTCOMES_ENV

TestOutcomeKind = Literal["passed", "failed", "error", "skipped", "collect_error"]
_SEVERITY: dict[str, int] = {"passed": 0, "skipped": 1, "failed": 2, "error": 3, "collect_error": 4}
# pytest exit codes whose report we trust: all passed, some failed, interrupted (collection
# errors), no tests collected. 3 (internal error) and 4 (usage error) are never trusted.
_READABLE_EXIT_CODES = {0, 1, 2, 5}


class TestRunError(RuntimeError):
    """The test run produced nothing trustworthy."""


class TestOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    test_id: str
    outcome: TestOutcomeKind
    duration_s: float = 0.0
    message: str = ""


class TestRun(BaseModel):
    """What one pytest run found: each test's outcome and, when tests ran, coverage."""

    model_config = ConfigDict(frozen=True)

    exit_code: int
    collected: int
    outcomes: tuple[TestOutcome, ...]
    coverage: CoverageReport | None
    duration_s: float
    output_tail: str = ""

    def count(self, outcome: TestOutcomeKind) -> int:
        return sum(1 for t in self.outcomes if t.outcome == outcome)

    @property
    def passed(self) -> int:
        return self.count("passed")

    @property
    def failed(self) -> int:
        """Failures, errors and collection errors: everything that is not a pass or a skip."""
        return sum(1 for t in self.outcomes if _SEVERITY[t.outcome] >= _SEVERITY["failed"])

    @property
    def all_passed(self) -> bool:
        """No failure, and at least one pass: a run in which no test passed proves nothing."""
        return self.failed == 0 and self.passed > 0

    def outcome_map(self) -> dict[str, TestOutcomeKind]:
        return {t.test_id: t.outcome for t in self.outcomes}


def run_tests(
    tree: Path,
    *,
    source_path: str,
    test_paths: Sequence[str],
    pythonpath: str,
    output_dir: Path,
    timeout_s: float,
    extra_args: Sequence[str] = (),
) -> TestRun:
    """Run pytest on `test_paths` inside `tree`, measuring coverage of `source_path`.

    `output_dir` must be fresh for this run: its reports are the only ones read.
    """
    output_dir.mkdir(parents=True, exist_ok=False)
    outcomes_file = output_dir / "outcomes.json"
    coverage_file = output_dir / "coverage.json"
    args = [
        *python_tool("pytest"),
        *test_paths,
        "-p",
        "spec2prod_assets.testing.outcomes_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--rootdir={tree}",
        f"--cov={source_path}",
        "--cov-branch",
        f"--cov-report=json:{coverage_file}",
        "--cov-report=",
        *extra_args,
    ]
    env = clean_env(
        {
            "PYTHONPATH": str(tree / pythonpath),
            OUTCOMES_ENV: str(outcomes_file),
            "COVERAGE_FILE": str(output_dir / ".coverage"),
        }
    )
    result = run_command(args, cwd=tree, timeout_s=timeout_s, env=env)
    (output_dir / "pytest-output.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    return _read_test_run(result, outcomes_file, coverage_file, tree)


def _read_test_run(result: CommandResult, outcomes_file: Path, coverage_file: Path, tree: Path) -> TestRun:
    """Turn a finished pytest subprocess and its report files into a `TestRun`, or refuse to."""
    if result.timed_out:
        raise TestRunError(f"tests timed out after {result.duration_s:.0f}s:\n{result.tail()}")
    if result.exit_code not in _READABLE_EXIT_CODES:
        raise TestRunError(f"pytest failed to run (exit {result.exit_code}):\n{result.tail()}")
    if not outcomes_file.is_file():
        raise TestRunError(f"pytest wrote no results (exit {result.exit_code}):\n{result.tail()}")
    try:
        payload = json.loads(outcomes_file.read_text(encoding="utf-8"))
        outcomes = _worst_outcome_per_test(payload["tests"])
        collected = int(payload["collected"])
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise TestRunError(f"unreadable test results in {outcomes_file.name}: {exc}") from exc
    coverage: CoverageReport | None = None
    if coverage_file.is_file():
        coverage = _read_coverage(coverage_file, tree)
    elif any(t.outcome == "passed" or t.outcome == "failed" for t in outcomes):
        raise TestRunError(f"tests ran but no coverage report was written:\n{result.tail()}")
    return TestRun(
        exit_code=result.exit_code,
        collected=collected,
        outcomes=outcomes,
        coverage=coverage,
        duration_s=result.duration_s,
        output_tail=result.tail(),
    )


def _read_coverage(coverage_file: Path, tree: Path) -> CoverageReport:
    """Read coverage.py's JSON report; paths become relative to `tree`."""
    try:
        data = json.loads(coverage_file.read_text(encoding="utf-8"))
        modules = [
            ModuleCoverage(
                path=relative_to_tree(name, tree),
                statements=int(info["summary"]["num_statements"]),
                executed_lines=tuple(info["executed_lines"]),
                missing_lines=tuple(info["missing_lines"]),
                branches=int(info["summary"].get("num_branches", 0)),
                executed_branches=tuple(tuple(b) for b in info.get("executed_branches", [])),
                missing_branches=tuple(tuple(b) for b in info.get("missing_branches", [])),
            )
            for name, info in sorted(data["files"].items())
        ]
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise TestRunError(f"unreadable coverage report {coverage_file.name}: {exc}") from exc
    return CoverageReport(modules=tuple(modules))


def _worst_outcome_per_test(records: list[dict[str, object]]) -> tuple[TestOutcome, ...]:
    """A test that passed its call but failed teardown is an error: keep the worst record per test."""
    worst: dict[str, TestOutcome] = {}
    for record in records:
        outcome = TestOutcome.model_validate(
            {
                "test_id": record["nodeid"],
                "outcome": record["outcome"],
                "duration_s": record.get("duration_s", 0.0),
                "message": record.get("message", ""),
            }
        )
        current = worst.get(outcome.test_id)
        if current is None or _SEVERITY[outcome.outcome] > _SEVERITY[current.outcome]:
            worst[outcome.test_id] = outcome
    return tuple(worst.values())
