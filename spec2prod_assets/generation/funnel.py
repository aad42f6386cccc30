"""The validation funnel: only generated tests that prove themselves reach a release.

The filter chain of Meta's TestGen-LLM, applied to each test, not each file, behind a static policy:
  plain unit test (`policy`) -> collected by pytest -> passes -> passes every one of N repetitions in
  random order, all in one pytest process (`reliability`) -> adds coverage, or kills a mutant that the
  existing tests let survive (`coverage_gain`, `mutant_gain`).
Generated tests are untrusted code: the policy refuses, before anything runs, the ones that reach for
the OS, the interpreter or the tools that report the verdict; the rest only ever run in a copy of the
component, in a subprocess with a timeout and an environment without secrets (see `testing.pytest_run`
and `runtime.processes`).
Every test that falls out is kept in the result with the filter it failed and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from spec2prod_assets.generation.coverage_gain import coverage_gains
from spec2prod_assets.generation.failure_reason import first_line
from spec2prod_assets.generation.mutant_gain import mutant_gains
from spec2prod_assets.generation.policy import allowed_part, importable_names
from spec2prod_assets.generation.protocol import GeneratedFile, RejectedPath
from spec2prod_assets.generation.pruning import count_test_defs, keep_tests
from spec2prod_assets.generation.reliability import RELIABILITY_RUNS, name_of_test, unreliable_tests
from spec2prod_assets.mutation import SurvivingMutant
from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.storage.atomic_files import write_text_atomically
from spec2prod_assets.storage.work_folder import numbered_pytest_run
from spec2prod_assets.storage.working_copies import copy_tree
from spec2prod_assets.testing.coverage_report import CoverageReport
from spec2prod_assets.testing.pytest_run import TestOutcome, TestRun, TestRunError, run_tests

# The funnel's filters in order; `path` is the check on where a generator wanted to write, `policy` the
# static check of what a generated test may do (`generation.policy`).
FunnelFilter = Literal["path", "policy", "collect", "pass", "reliable", "coverage"]


class Rejection(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    test: str | None
    stage: FunnelFilter  # the stored field and the `rejected_tests` column keep their name
    reason: str


class Acceptance(BaseModel):
    """Why a test was kept: the new lines and branches it covers, or the surviving mutants it kills."""

    model_config = ConfigDict(frozen=True)

    test: str
    reason: str


class FunnelResult(BaseModel):
    """Counts after each filter of the funnel, the accepted test files, and every rejection."""

    model_config = ConfigDict(frozen=True)

    tests_generated: int
    tests_collected: int
    tests_passing: int
    tests_reliable: int
    tests_accepted: int
    coverage_before_pct: float
    coverage_after_pct: float
    branch_coverage_before_pct: float
    branch_coverage_after_pct: float
    accepted_dir: str
    accepted_files: tuple[str, ...]
    accepted_tests: tuple[str, ...]
    rejections: tuple[Rejection, ...]
    acceptances: tuple[Acceptance, ...] = ()
    tests_killing_mutants: int = 0
    """Accepted for killing a surviving mutant, without new coverage."""
    mutant_check: str = ""
    """What the check of tests without new coverage against the surviving mutants did."""


class _Candidate:
    """A generated file under its final, unique name, and the tests still in the running."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source
        self.alive: set[str] = set()

    def test_id(self, name: str) -> str:
        return f"{self.path}::{name}"


def run_funnel(
    original_tree: Path,
    layout: ComponentLayout,
    *,
    slug: str,
    baseline: TestRun,
    generated: Sequence[GeneratedFile],
    refused_paths: Sequence[RejectedPath],
    work_dir: Path,
    timeout_s: float,
    reliability_runs: int = RELIABILITY_RUNS,
    check_policy: bool = True,
    survivors: Sequence[SurvivingMutant] = (),
    mutation_budget_s: float = 0.0,
) -> FunnelResult:
    """Filter `generated` against `original_tree` (the untouched component with its tests).

    `survivors` are the mutants of the baseline suite that survived it (`mutation.run_mutation`): a test
    that kills one is kept without new coverage; checking that gets `mutation_budget_s` (0: never).
    `check_policy=False` skips the static policy; only tests of the defences behind it use that.
    """
    rejections = [Rejection(file=r.path, test=None, stage="path", reason=r.reason) for r in refused_paths]
    candidates = _rename(generated, slug, layout.tests_path)
    tests_generated = sum(count_test_defs(c.source) for c in candidates)
    before = baseline.coverage or CoverageReport(modules=())
    if check_policy:
        candidates = _apply_policy(
            candidates, importable_names(original_tree, layout.import_root), rejections
        )
    tree = copy_tree(original_tree, work_dir / "tree")
    for candidate in candidates:
        write_text_atomically(tree / candidate.path, candidate.source)

    runner = _Runner(tree, layout, work_dir, timeout_s)
    collected = _collect_and_pass(runner, candidates, rejections)
    tests_collected = collected
    tests_passing = _alive_count(candidates)
    _check_reliability(runner, tree, candidates, rejections, reliability_runs)
    tests_reliable = _alive_count(candidates)
    gains = _keep_gains(runner, tree, candidates, before, rejections, survivors, mutation_budget_s)

    accepted_dir = work_dir / "accepted"
    accepted_files: list[str] = []
    for candidate in candidates:
        if candidate.alive:
            write_text_atomically(
                accepted_dir / candidate.path, keep_tests(candidate.source, candidate.alive)
            )
            accepted_files.append(candidate.path)
    accepted_tests = sorted(c.test_id(name) for c in candidates for name in c.alive)
    return FunnelResult(
        tests_generated=tests_generated,
        tests_collected=tests_collected,
        tests_passing=tests_passing,
        tests_reliable=tests_reliable,
        tests_accepted=len(accepted_tests),
        coverage_before_pct=before.line_pct,
        coverage_after_pct=gains.line_pct,
        branch_coverage_before_pct=before.branch_pct,
        branch_coverage_after_pct=gains.branch_pct,
        accepted_dir=str(accepted_dir),
        accepted_files=tuple(accepted_files),
        accepted_tests=tuple(accepted_tests),
        rejections=tuple(rejections),
        acceptances=tuple(gains.acceptances),
        tests_killing_mutants=gains.killing,
        mutant_check=gains.mutant_check,
    )


class _Runner:
    """Numbered pytest runs in the funnel's tree, each with its own fresh result folder."""

    def __init__(self, tree: Path, layout: ComponentLayout, work_dir: Path, timeout_s: float) -> None:
        self.tree, self.layout = tree, layout
        self.work_dir, self.timeout_s = work_dir, timeout_s
        self.count = 0
        self.last_output_dir = work_dir

    def run(
        self, label: str, test_paths: Sequence[str], extra_args: Sequence[str] = (), timeout_factor: float = 1
    ) -> TestRun:
        """`timeout_factor`: a run that repeats every test N times gets N times the time."""
        self.count += 1
        self.last_output_dir = numbered_pytest_run(self.work_dir, self.count, label)
        return run_tests(
            self.tree,
            self.layout,
            test_paths=test_paths,
            output_dir=self.last_output_dir,
            timeout_s=self.timeout_s * timeout_factor,
            extra_args=extra_args,
        )


def _collect_and_pass(runner: _Runner, candidates: list[_Candidate], rejections: list[Rejection]) -> int:
    """Filters (a) and (b); returns how many tests pytest collected from the generated files."""
    if not candidates:
        return 0
    try:
        runs = [
            (
                candidates,
                runner.run("collect-pass", [c.path for c in candidates], ["--continue-on-collection-errors"]),
            )
        ]
    except TestRunError:
        # One file crashed or hung the whole run: run them one by one to find it.
        runs = []
        for candidate in candidates:
            try:
                runs.append(([candidate], runner.run("collect-pass-single", [candidate.path])))
            except TestRunError as exc:
                rejections.append(
                    Rejection(file=candidate.path, test=None, stage="collect", reason=first_line(exc))
                )
    collected = 0
    for group, run in runs:
        by_file = _outcomes_by_file(run)
        for candidate in group:
            outcomes = by_file.get(candidate.path, [])
            errors = [o for o in outcomes if o.outcome == "collect_error"]
            if errors:
                rejections.append(
                    Rejection(
                        file=candidate.path, test=None, stage="collect", reason=first_line(errors[0].message)
                    )
                )
                continue
            if not outcomes:
                rejections.append(
                    Rejection(file=candidate.path, test=None, stage="collect", reason="no tests collected")
                )
                continue
            collected += len({name_of_test(o.test_id) for o in outcomes})
            verdicts: dict[str, bool] = {}
            for outcome in outcomes:
                name = name_of_test(outcome.test_id)
                verdicts[name] = verdicts.get(name, True) and outcome.outcome == "passed"
                if outcome.outcome != "passed":
                    reason = f"{outcome.outcome}: {first_line(outcome.message) or outcome.outcome}"
                    rejections.append(
                        Rejection(file=candidate.path, test=outcome.test_id, stage="pass", reason=reason)
                    )
            candidate.alive = {name for name, passed in verdicts.items() if passed}
    return collected


def _check_reliability(
    runner: _Runner, tree: Path, candidates: list[_Candidate], rejections: list[Rejection], runs: int
) -> None:
    """Filter (c): every surviving test passes `runs` repetitions in random order, in one pytest process."""
    _rewrite_survivors(tree, candidates)
    alive = [c for c in candidates if c.alive]
    if not alive or runs < 1:
        return
    try:
        unreliable = unreliable_tests(
            [c.test_id(name) for c in alive for name in sorted(c.alive)], runner.run, runs
        )
    except TestRunError as exc:
        crashed = f"the run of {runs} random-order repetitions crashed: {first_line(exc)}"
        _reject_survivors(alive, rejections, "reliable", crashed)
        return
    for candidate in alive:
        for name in sorted(candidate.alive):
            why = unreliable.get(candidate.test_id(name))
            if why is not None:
                candidate.alive.discard(name)
                rejections.append(
                    Rejection(file=candidate.path, test=candidate.test_id(name), stage="reliable", reason=why)
                )
    _rewrite_survivors(tree, candidates)


class _Gains(BaseModel):
    line_pct: float
    branch_pct: float
    acceptances: list[Acceptance] = []
    killing: int = 0
    mutant_check: str = ""


def _keep_gains(
    runner: _Runner,
    tree: Path,
    candidates: list[_Candidate],
    before: CoverageReport,
    rejections: list[Rejection],
    survivors: Sequence[SurvivingMutant],
    mutation_budget_s: float,
) -> _Gains:
    """Filter (d): a test stays if it covers a line or branch that nothing before it covered, or else
    kills a mutant the baseline suite lets survive. Coverage is of the baseline plus accepted tests."""
    alive = [c for c in candidates if c.alive]
    if not alive:
        return _Gains(line_pct=before.line_pct, branch_pct=before.branch_pct)
    paths = list(dict.fromkeys([*runner.layout.existing_test_paths(tree), *(c.path for c in alive)]))
    try:
        run = runner.run("coverage", paths, ["--cov-context=test"])
    except TestRunError as exc:
        _reject_survivors(alive, rejections, "coverage", f"coverage run failed: {first_line(exc)}")
        return _Gains(line_pct=before.line_pct, branch_pct=before.branch_pct)
    tests = [(c, name, c.test_id(name)) for c in alive for name in sorted(c.alive)]
    coverage = coverage_gains(
        run.coverage or CoverageReport(modules=()),
        runner.last_output_dir / ".coverage",
        tree,
        [test_id for _, _, test_id in tests],
        before,
    )
    kills = mutant_gains(
        tree,
        runner.layout,
        [test_id for _, _, test_id in tests if not coverage.gained[test_id]],
        survivors,
        work_dir=runner.work_dir / "mutants",
        budget_s=mutation_budget_s,
    )
    gains = _Gains(line_pct=coverage.line_pct, branch_pct=coverage.branch_pct, mutant_check=kills.note)
    for candidate, name, test_id in tests:
        if coverage.gained[test_id]:
            reason = f"covers {coverage.gained[test_id]} new lines or branches"
            gains.acceptances.append(Acceptance(test=test_id, reason=reason))
        elif test_id in kills.reasons:
            gains.acceptances.append(Acceptance(test=test_id, reason=kills.reasons[test_id]))
            gains.killing += 1
        else:
            candidate.alive.discard(name)
            reason = "adds no line or branch coverage over the baseline and earlier accepted tests"
            if test_id in kills.checked:
                reason += ", and kills none of the mutants the existing tests let survive"
            elif test_id in kills.unchecked:
                reason += "; the mutant check's budget ran out before it"
            elif kills.note:
                reason += f" ({kills.note})"
            rejections.append(Rejection(file=candidate.path, test=test_id, stage="coverage", reason=reason))
    return gains


def _apply_policy(
    candidates: list[_Candidate], own_modules: frozenset[str], rejections: list[Rejection]
) -> list[_Candidate]:
    """The policy filter: a file that breaks it as a whole is dropped, else only its offending tests."""
    kept = []
    for candidate in candidates:
        source, violations = allowed_part(candidate.source, own_modules)
        for violation in violations:
            test = candidate.test_id(violation.test) if violation.test else None
            rejections.append(
                Rejection(file=candidate.path, test=test, stage="policy", reason=str(violation))
            )
        if source is not None:
            candidate.source = source
            kept.append(candidate)
    return kept


def _rename(generated: Sequence[GeneratedFile], slug: str, tests_path: str) -> list[_Candidate]:
    """Unique names that say what they are: never colliding across modules, tasks or components."""
    candidates = []
    for index, generated_file in enumerate(generated, start=1):
        stem = Path(generated_file.path).stem.removeprefix("test_")
        safe = re.sub(r"[^A-Za-z0-9_]", "_", stem)
        candidates.append(
            _Candidate(f"{tests_path}/test_gen_{slug}_{safe}_{index:02d}.py", generated_file.content)
        )
    return candidates


def _rewrite_survivors(tree: Path, candidates: Iterable[_Candidate]) -> None:
    for candidate in candidates:
        target = tree / candidate.path
        if candidate.alive:
            write_text_atomically(target, keep_tests(candidate.source, candidate.alive))
        elif target.exists():
            target.unlink()


def _outcomes_by_file(run: TestRun) -> dict[str, list[TestOutcome]]:
    grouped: dict[str, list[TestOutcome]] = {}
    for outcome in run.outcomes:
        grouped.setdefault(outcome.test_id.split("::")[0], []).append(outcome)
    return grouped


def _reject_survivors(
    candidates: Iterable[_Candidate], rejections: list[Rejection], failed: FunnelFilter, reason: str
) -> None:
    """A run that crashed proves none of the tests in it: every survivor falls out, with the same reason."""
    for candidate in candidates:
        for name in sorted(candidate.alive):
            rejections.append(
                Rejection(file=candidate.path, test=candidate.test_id(name), stage=failed, reason=reason)
            )
        candidate.alive = set()


def _alive_count(candidates: Iterable[_Candidate]) -> int:
    return sum(len(c.alive) for c in candidates)
