"""Automatic refactoring that is kept only when it provably changes nothing a caller can see.

ruff formats and applies its safe fixes to a copy; the existing tests run again on the copy. If any
test outcome or the public API differs from the untouched code, or the project's ruff rules count more
violations than before (formatting can clash with a selected rule), the whole refactor is discarded (never
a partial one): the release is then built from the original code.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.refactor.lint import LintReport, format_and_fix, lint_report
from spec2prod_assets.refactor.public_api import api_differences, public_api
from spec2prod_assets.storage.working_copies import copy_tree, python_files
from spec2prod_assets.testing.pytest_run import TestRun, run_tests


class RefactorResult(BaseModel):
    """What the refactoring stage hands on: the tree to build from and why it is that one."""

    model_config = ConfigDict(frozen=True)

    kept: bool
    reason: str
    tree_path: str
    patch_path: str
    files_changed: int
    lint_before: LintReport
    lint_after: LintReport
    api_changes: tuple[str, ...] = ()
    outcome_changes: tuple[str, ...] = ()
    tests_passed: int = 0
    tests_failed: int = 0


def refactor_component(
    original_tree: Path,
    layout: ComponentLayout,
    *,
    baseline: TestRun,
    work_dir: Path,
    timeout_s: float,
) -> RefactorResult:
    """Refactor a copy of `original_tree` in `work_dir/refactored`; `original_tree` is not modified."""
    source_path = layout.source_path
    refactored = copy_tree(original_tree, work_dir / "refactored")
    lint_before = lint_report(original_tree, source_path)
    api_before = public_api(original_tree, source_path)

    format_and_fix(refactored, source_path)

    lint_after = lint_report(refactored, source_path)
    api_changes = api_differences(api_before, public_api(refactored, source_path))
    patch, files_changed = _patch(original_tree, refactored, source_path)
    patch_path = work_dir / "refactor.patch"
    patch_path.write_text(patch, encoding="utf-8")

    rerun = run_tests(refactored, layout, output_dir=work_dir / "tests-after-refactor", timeout_s=timeout_s)
    outcome_changes = _outcome_changes(baseline, rerun)

    reasons = []
    if api_changes:
        reasons.append(f"public API changed ({len(api_changes)}): {'; '.join(api_changes[:5])}")
    if outcome_changes:
        shown = "; ".join(outcome_changes[:5])
        reasons.append(f"test outcomes changed ({len(outcome_changes)}): {shown}")
    if lint_after.violations > lint_before.violations:
        # The release gate allows no new violations; a refactor may only pay lint debt, never add to it.
        reasons.append(
            f"lint violations rose from {lint_before.violations} to {lint_after.violations} "
            f"under {lint_after.rules}"
        )
    if reasons:
        kept, reason, tree = False, "discarded: " + " | ".join(reasons), original_tree
    elif files_changed == 0:
        kept, reason, tree = True, "nothing to change: already formatted, no safe fix applies", refactored
    else:
        kept, reason, tree = True, "kept: same test outcomes and public API", refactored

    return RefactorResult(
        kept=kept,
        reason=reason,
        tree_path=str(tree),
        patch_path=str(patch_path),
        files_changed=files_changed if kept else 0,
        lint_before=lint_before,
        lint_after=lint_after if kept else lint_before,
        api_changes=tuple(api_changes),
        outcome_changes=tuple(outcome_changes),
        tests_passed=rerun.passed,
        tests_failed=rerun.failed,
    )


def _patch(before: Path, after: Path, source_path: str) -> tuple[str, int]:
    """A unified diff of the source folder, and how many files it touches."""
    chunks: list[str] = []
    changed = 0
    for relative in sorted(set(python_files(before, source_path)) | set(python_files(after, source_path))):
        old = _lines(before / relative)
        new = _lines(after / relative)
        if old != new:
            changed += 1
            chunks.extend(difflib.unified_diff(old, new, f"a/{relative}", f"b/{relative}"))
    return "".join(chunks), changed


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []


def _outcome_changes(baseline: TestRun, rerun: TestRun) -> list[str]:
    before, after = baseline.outcome_map(), rerun.outcome_map()
    return [
        f"{test_id}: {before.get(test_id, 'absent')} -> {after.get(test_id, 'absent')}"
        for test_id in sorted(before.keys() | after.keys())
        if before.get(test_id) != after.get(test_id)
    ]
