"""Run a component's tests with coverage in a sandboxed subprocess, and read the results strictly.

The tests are untrusted code: they run in the sandbox (`runtime.sandbox`) with only the run's tree and its
output folder writable, their outcomes are streamed to us as each test ends (`outcome_stream`), and the
coverage report comes on that stream too, written where only the sandbox sees it (its private /tmp), so
nothing the tests rewrite at exit reaches it. A run whose results cannot be read or do not add up
(timeout, crash, missing or malformed report, a stream that disagrees with pytest's exit status) raises
`TestRunError`: a quality gate must fail closed, so an unreadable run is never counted as a pass.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.runtime.processes import CommandResult, clean_env, python_tool, run_command
from spec2prod_assets.runtime.sandbox import Sandbox
from spec2prod_assets.storage.working_copies import relative_to_tree
from spec2prod_assets.testing.coverage_report import CoverageReport, ModuleCoverage
from spec2prod_assets.testing.outcome_stream import (
    OutcomePipe,
    OutcomeStreamError,
    StreamedOutcomes,
    cross_check,
)
from spec2prod_assets.testing.outcomes_plugin import COVERAGE_REPORT_ENV, OUTCOMES_FD_ENV

TestOutcomeKind = Literal["passed", "failed", "error", "skipped", "collect_error"]
_SEVERITY: dict[str, int] = {"passed": 0, "skipped": 1, "failed": 2, "error": 3, "collect_error": 4}
# pytest exit codes whose report we trust: all passed, some failed, interrupted (collection
# errors), no tests collected. 3 (internal error) and 4 (usage error) are never trusted.
_READABLE_EXIT_CODES = {0, 1, 2, 5}
JUNIT_XML_NAME = "junit.xml"


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
    junit_xml: str | None = None

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
    layout: ComponentLayout,
    *,
    output_dir: Path,
    timeout_s: float,
    test_paths: Sequence[str] | None = None,
    extra_args: Sequence[str] = (),
    junit_xml: bool = False,
) -> TestRun:
    """Run pytest inside `tree` (a working copy laid out as `layout`) with the project's own configuration,
    measuring coverage of the component's source; `test_paths` default to the layout's tests in the tree.

    `output_dir` must be fresh for this run: its reports are the only ones read. `junit_xml` also writes
    `output_dir/junit.xml`, an artifact for CI (never read back as a verdict).
    """
    output_dir.mkdir(parents=True, exist_ok=False)
    # pytest-cov writes into the sandbox's private /tmp; the report reaches us on the outcomes pipe.
    private = Path("/tmp") / f"spec2prod-cov-{uuid.uuid4().hex}"
    paths = layout.existing_test_paths(tree) if test_paths is None else list(test_paths)
    args = [
        *python_tool("pytest", python=layout.python),
        *paths,
        *_pytest_options(tree, layout, output_dir, private / "coverage.json", junit_xml=junit_xml),
        *extra_args,
    ]
    pipe = OutcomePipe()
    env = clean_env(
        {
            "PYTHONPATH": str(tree / layout.import_root),
            OUTCOMES_FD_ENV: str(pipe.write_fd),
            COVERAGE_REPORT_ENV: str(private / "coverage.json"),
            "COVERAGE_FILE": str(output_dir / ".coverage"),  # the funnel reads its per-test contexts
        }
    )
    try:
        result = run_command(
            args,
            cwd=tree,
            timeout_s=timeout_s,
            env=env,
            sandbox=Sandbox(
                writable=(tree, output_dir), readable=tuple(Path(p) for p in layout.readable_roots)
            ),
            pass_fds=(pipe.write_fd,),
        )
    finally:
        received = pipe.finish()
        shutil.rmtree(private, ignore_errors=True)  # only there when the sandbox was off
    if received.coverage_json is not None:  # kept beside the run's output, read from what was streamed
        (output_dir / "coverage.json").write_text(received.coverage_json, encoding="utf-8")
    (output_dir / "pytest-output.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    run = _read_test_run(result, received, tree)
    junit = output_dir / JUNIT_XML_NAME
    return run.model_copy(update={"junit_xml": str(junit)}) if junit_xml and junit.is_file() else run


def _pytest_options(
    tree: Path, layout: ComponentLayout, output_dir: Path, coverage_json: Path, *, junit_xml: bool
) -> list[str]:
    """What spec2prod adds to the project's own pytest configuration: its plugin, coverage and outputs.

    They come after the project's `addopts` on the command line, so where both set one option ours wins:
    the JUnit XML goes to this run's folder, and a `--cov-fail-under` (or coverage's `fail_under`) cannot
    turn passing tests into a failed run: the spec's coverage gate decides. pytest reads the project's file
    in the copy (`-c`); a project without one gets an empty one, so no file above the copy is read.
    Coverage follows the project's coverage settings (omit, exclusions), except that branches are always
    measured: the spec may gate on them.
    """
    if layout.pytest_config and (tree / layout.pytest_config).is_file():
        config = ["-c", str(tree / layout.pytest_config)]
    else:
        empty = output_dir / "pytest.ini"
        empty.write_text("[pytest]\n", encoding="utf-8")
        config = ["-c", str(empty), f"--confcutdir={tree}"]
    return [
        *config,
        f"--rootdir={tree}",
        "-p",
        "spec2prod_assets.testing.outcomes_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--cov={layout.source_path}",
        "--cov-branch",
        f"--cov-report=json:{coverage_json}",
        "--cov-report=",
        "--cov-fail-under=0",
        *([f"--junitxml={output_dir / JUNIT_XML_NAME}"] if junit_xml else []),
    ]


def _read_test_run(result: CommandResult, received: StreamedOutcomes, tree: Path) -> TestRun:
    """Turn a finished pytest subprocess and what it streamed into a `TestRun`, or refuse to."""
    if result.timed_out:
        raise TestRunError(f"tests timed out after {result.duration_s:.0f}s:\n{result.tail()}")
    if result.exit_code not in _READABLE_EXIT_CODES:
        raise TestRunError(f"pytest failed to run (exit {result.exit_code}):\n{result.tail()}")
    try:
        outcomes = _worst_outcome_per_test(received.records)
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise TestRunError(f"unreadable test results streamed by pytest: {exc}") from exc
    tests = [t for t in outcomes if t.outcome != "collect_error"]
    try:
        collected = cross_check(
            received,
            exit_code=result.exit_code,
            failed_ids={t.test_id for t in tests if _SEVERITY[t.outcome] >= _SEVERITY["failed"]},
            test_ids={t.test_id for t in tests},
        )
    except OutcomeStreamError as exc:
        raise TestRunError(f"test results refused: {exc}:\n{result.tail()}") from exc
    coverage: CoverageReport | None = None
    if received.coverage_json is not None:
        coverage = _read_coverage(received.coverage_json, tree)
    elif any(t.outcome in ("passed", "failed") for t in outcomes):
        raise TestRunError(f"tests ran but no coverage report was written:\n{result.tail()}")
    return TestRun(
        exit_code=result.exit_code,
        collected=len(collected),
        outcomes=outcomes,
        coverage=coverage,
        duration_s=result.duration_s,
        output_tail=result.tail(),
    )


def _read_coverage(report: str, tree: Path) -> CoverageReport:
    """Parse coverage.py's JSON report as streamed by pytest; paths become relative to `tree`."""
    try:
        data = json.loads(report)
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
        raise TestRunError(f"unreadable coverage report: {exc}") from exc
    return CoverageReport(modules=tuple(modules))


def _worst_outcome_per_test(records: list[dict[str, Any]]) -> tuple[TestOutcome, ...]:
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
