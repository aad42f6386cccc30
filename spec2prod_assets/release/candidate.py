"""The release candidate: the refactored code and the accepted generated tests, proven together.

The generated tests were written against the original code; running them on the refactored tree is
what makes them guard the refactor. The result is frozen into one bundle named by its sha256, and
that exact bundle is what staging and production receive.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.refactor.lint import LintReport, lint_report
from spec2prod_assets.release.bundle import ReleaseManifest, build_bundle
from spec2prod_assets.release.mutation_scores import MutationScores
from spec2prod_assets.runtime.processes import CommandError, clean_env, run_command
from spec2prod_assets.spec.model import ComponentSpec
from spec2prod_assets.storage.working_copies import copy_tree, python_files
from spec2prod_assets.testing.claims import read_claims
from spec2prod_assets.testing.pytest_run import TestRun, run_tests
from spec2prod_assets.testing.traceability import Traceability, trace


class ReleaseCandidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    bundle_path: str
    bundle_sha256: str
    tree_path: str
    source_revision: str
    test_run: TestRun
    lint: LintReport
    lint_baseline: LintReport
    """The original code's count (`refactored_code`'s `lint_before`): the lint gate allows no more."""
    generated_tests_included: int
    existing_tests_ran: int = 0
    """Tests of the project's own (not generated) that ran in the release suite: passed or failed."""
    tests_found_by: str = ""
    junit_xml: str | None = None
    """The release suite's JUnit XML report, for CI."""
    traceability: Traceability | None = None
    """Which passing tests of the release suite claim each acceptance criterion and requirement."""
    mutation: MutationScores | None = None
    """The baseline suite's and the release suite's mutation scores, when they were measured."""
    mutation_note: str = "not measured"
    """Why there are no scores (not asked for, or why the measurement failed)."""


def add_accepted_tests(tree: Path, accepted_dir: Path | None, accepted_files: Sequence[str]) -> None:
    """The funnel's accepted test files into `tree`, at the paths the funnel gave them."""
    for relative in accepted_files:
        assert accepted_dir is not None
        target = tree / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(accepted_dir / relative, target)


def assemble_release(
    code_tree: Path,
    layout: ComponentLayout,
    *,
    spec: ComponentSpec,
    accepted_dir: Path | None,
    accepted_files: Sequence[str],
    work_dir: Path,
    bundles_dir: Path,
    project_root: Path,
    run_id: str,
    timeout_s: float,
    lint_baseline: LintReport,
    dependencies: Sequence[str] = (),
) -> ReleaseCandidate:
    """Build the candidate tree in `work_dir`, run the whole suite and lint on it, bundle it.

    `dependencies` (the component environment's requirements) go into the manifest, so every environment
    the release reaches runs its tests with the same packages."""
    tree = copy_tree(code_tree, work_dir / "tree")
    # Measured before the generated tests join (they may land inside the source folder): the count must
    # cover what the baseline covered, the component's own code, to compare with it.
    lint = lint_report(tree, spec.source_path)
    add_accepted_tests(tree, accepted_dir, accepted_files)
    run = run_tests(tree, layout, output_dir=work_dir / "results", timeout_s=timeout_s, junit_xml=True)
    spec_ids = [c.id for c in spec.acceptance_criteria] + [r.id for r in spec.requirements]
    claims = read_claims(tree, layout.existing_test_paths(tree), spec_ids)
    revision = source_revision(project_root, tree, spec.source_path)
    bundle = build_bundle(
        tree,
        ReleaseManifest(
            component=spec.slug,
            version=spec.version,
            spec_sha256=spec.spec_sha256,
            source_revision=revision,
            created_by_run=run_id,
            tests_passed=run.passed,
            tests_failed=run.failed,
            line_coverage_pct=run.coverage.line_pct if run.coverage else 0.0,
            source_path=layout.source_path,
            tests_path=layout.tests_path,
            test_paths=tuple(layout.test_paths),
            config_files=tuple(layout.config_files),
            health_tests=tuple(layout.existing_test_paths(tree)),
            dependencies=tuple(dependencies),
        ),
        bundles_dir,
    )
    return ReleaseCandidate(
        bundle_path=str(bundle.path),
        bundle_sha256=bundle.sha256,
        tree_path=str(tree),
        source_revision=revision,
        test_run=run,
        lint=lint,
        lint_baseline=lint_baseline,
        generated_tests_included=len(accepted_files),
        existing_tests_ran=existing_tests_ran(run, accepted_files),
        tests_found_by=layout.tests_found_by,
        junit_xml=run.junit_xml,
        traceability=trace(spec, claims, run.outcomes),
    )


def existing_tests_ran(run: TestRun, generated_files: Sequence[str]) -> int:
    """How many of the project's own tests ran (passed or failed) in `run`: every test not from a
    generated file. A release resting only on generated tests pins current behaviour, nothing more."""
    generated = set(generated_files)
    return sum(
        1
        for outcome in run.outcomes
        if outcome.outcome in ("passed", "failed") and outcome.test_id.split("::", 1)[0] not in generated
    )


def source_revision(project_root: Path, tree: Path, source_path: str) -> str:
    """`git:<commit>` (with `+dirty` when the source differs from it), else `tree:<hash of the files>`."""
    digest = hashlib.sha256()
    for relative in python_files(tree, source_path):
        digest.update(relative.encode() + b"\0" + (tree / relative).read_bytes() + b"\0")
    tree_hash = digest.hexdigest()[:16]
    try:
        result = run_command(["git", "rev-parse", "HEAD"], cwd=project_root, timeout_s=10, env=clean_env())
    except CommandError:  # no git on this machine: the tree hash alone identifies the source
        return f"tree:{tree_hash}"
    if result.ok and result.stdout.strip():
        status = run_command(
            ["git", "status", "--porcelain", "--", source_path],
            cwd=project_root,
            timeout_s=10,
            env=clean_env(),
        )
        dirty = "+dirty" if status.ok and status.stdout.strip() else ""
        return f"git:{result.stdout.strip()}{dirty} tree:{tree_hash}"
    return f"tree:{tree_hash}"
