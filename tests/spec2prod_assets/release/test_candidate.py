"""The release candidate on a tiny real component: one tree, the whole suite, one bundle, its gates."""

from __future__ import annotations

import tarfile
from pathlib import Path
from textwrap import dedent

import dagster as dg

from spec2prod_assets.pipeline.checks import release_checks
from spec2prod_assets.release.bundle import MANIFEST_NAME, file_sha256, verify_bundle
from spec2prod_assets.release.candidate import ReleaseCandidate, assemble_release
from spec2prod_assets.spec.model import ComponentSpec
from tests.support.gap_component import OPS, PYTHONPATH, SLUG, TIMEOUT_S, gap_spec, write_gap_component

ACCEPTED = f"tests/{SLUG}/test_gen_{SLUG}_ops_01.py"

# What the funnel would have accepted: with the baseline it covers every line of ops.py.
COMPLETING_TEST = dedent(
    """\
    import pytest

    from mathy.ops import safe_div, sign


    def test_sign_of_negative_numbers_and_zero():
        assert sign(-2) == -1
        assert sign(0) == 0


    def test_safe_div():
        assert safe_div(6, 3) == 2
        with pytest.raises(ValueError):
            safe_div(1, 0)
    """
)

# A refactor that broke `sign(0)`: the generated test, written against the original code, catches it.
BROKEN_REFACTOR = OPS.replace("    return 0\n", "    return 1\n")
WITH_LINT_VIOLATION = "import os\n" + OPS


def _assemble(
    tmp_path: Path, *, spec: ComponentSpec, ops: str = OPS, accepted: dict[str, str] | None = None
) -> ReleaseCandidate:
    code = write_gap_component(tmp_path / "code", ops=ops)
    accepted = accepted or {}
    accepted_dir = tmp_path / "funnel" / "accepted"
    for relative, content in accepted.items():
        (accepted_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (accepted_dir / relative).write_text(content)
    return assemble_release(
        code,
        spec=spec,
        pythonpath=PYTHONPATH,
        accepted_dir=accepted_dir if accepted else None,
        accepted_files=list(accepted),
        work_dir=tmp_path / "release",
        bundles_dir=tmp_path / "bundles",
        project_root=tmp_path / "code",
        run_id="run-0001",
        timeout_s=TIMEOUT_S,
    )


def _checks(candidate: ReleaseCandidate, spec: ComponentSpec) -> dict[str, dg.AssetCheckResult]:
    return {str(result.check_name): result for result in release_checks(candidate, spec)}


def test_bundle_holds_the_accepted_generated_test_and_a_manifest_with_hash_revision_and_summary(
    tmp_path: Path,
) -> None:
    spec = gap_spec()

    candidate = _assemble(tmp_path, spec=spec, accepted={ACCEPTED: COMPLETING_TEST})

    bundle = Path(candidate.bundle_path)
    assert bundle.parent == tmp_path / "bundles"
    assert bundle.name == f"{candidate.bundle_sha256}.tar.gz"
    assert file_sha256(bundle) == candidate.bundle_sha256
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        generated = tar.extractfile(ACCEPTED)
        assert generated is not None and generated.read().decode() == COMPLETING_TEST
    assert {MANIFEST_NAME, ACCEPTED, f"tests/{SLUG}/test_ops.py", f"src/{SLUG}/ops.py"} <= set(names)

    manifest = verify_bundle(bundle, candidate.bundle_sha256)
    assert manifest.component == SLUG
    assert manifest.version == spec.version
    assert manifest.spec_sha256 == spec.spec_sha256
    assert manifest.source_revision == candidate.source_revision
    assert candidate.source_revision.startswith(("git:", "tree:"))
    assert manifest.created_by_run == "run-0001"
    assert (manifest.tests_passed, manifest.tests_failed) == (4, 0)
    assert manifest.line_coverage_pct == 100.0
    assert ACCEPTED in manifest.files

    run = candidate.test_run
    assert f"{ACCEPTED}::test_safe_div" in run.outcome_map()  # the generated test ran with the suite
    assert candidate.generated_tests_included == 1
    assert not (tmp_path / "code" / ACCEPTED).exists()  # assembled in a copy, never in the code tree


def test_all_release_checks_pass_for_a_tested_covered_lint_clean_candidate(tmp_path: Path) -> None:
    spec = gap_spec(coverage_threshold_pct=90.0, lint_clean=True)
    candidate = _assemble(tmp_path, spec=spec, accepted={ACCEPTED: COMPLETING_TEST})

    checks = _checks(candidate, spec)

    assert set(checks) == {"all_tests_pass", "coverage_meets_threshold", "lint_clean"}
    assert {name: check.passed for name, check in checks.items()} == dict.fromkeys(checks, True)


def test_a_failing_test_fails_all_tests_pass(tmp_path: Path) -> None:
    spec = gap_spec()
    candidate = _assemble(tmp_path, spec=spec, ops=BROKEN_REFACTOR, accepted={ACCEPTED: COMPLETING_TEST})

    check = _checks(candidate, spec)["all_tests_pass"]

    assert not check.passed
    assert candidate.test_run.failed == 1
    assert check.metadata["tests_failed"].value == 1
    assert check.description is not None and "1 failed" in check.description


def test_coverage_below_the_spec_threshold_fails_coverage_meets_threshold(tmp_path: Path) -> None:
    spec = gap_spec(coverage_threshold_pct=80.0)
    candidate = _assemble(tmp_path, spec=spec)  # the baseline alone covers half of ops.py

    checks = _checks(candidate, spec)

    assert checks["all_tests_pass"].passed
    coverage = checks["coverage_meets_threshold"]
    assert not coverage.passed
    assert coverage.metadata["line_coverage_pct"].value < 80.0
    assert coverage.metadata["coverage_threshold_pct"].value == 80.0


def test_lint_violations_fail_lint_clean_only_when_the_spec_requires_it(tmp_path: Path) -> None:
    required, not_required = gap_spec(lint_clean=True), gap_spec(lint_clean=False)
    candidate = _assemble(tmp_path, spec=required, ops=WITH_LINT_VIOLATION)
    assert candidate.lint.violations >= 1

    assert not _checks(candidate, required)["lint_clean"].passed
    assert _checks(candidate, not_required)["lint_clean"].passed


def test_gates_fail_closed_when_no_test_ran_or_coverage_is_unreadable(tmp_path: Path) -> None:
    spec = gap_spec(coverage_threshold_pct=0.0)
    candidate = _assemble(tmp_path, spec=spec)
    nothing_ran = candidate.model_copy(
        update={"test_run": candidate.test_run.model_copy(update={"outcomes": (), "coverage": None})}
    )

    checks = _checks(nothing_ran, spec)

    assert not checks["all_tests_pass"].passed
    assert not checks["coverage_meets_threshold"].passed
