"""The release candidate on a tiny real component: one tree, the whole suite, one bundle, its gates."""

from __future__ import annotations

import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path
from textwrap import dedent

import dagster as dg

from spec2prod_assets.pipeline.checks import (
    CRITERIA_TESTED,
    EXISTING_TESTS_RAN,
    LINT_GATE,
    MUTATION_SCORE,
    release_checks,
)
from spec2prod_assets.refactor.lint import lint_report
from spec2prod_assets.release.bundle import MANIFEST_NAME, file_sha256, verify_bundle
from spec2prod_assets.release.candidate import ReleaseCandidate, assemble_release
from spec2prod_assets.spec.model import ComponentSpec
from tests.conftest import write_files
from tests.support.gap_component import (
    OPS,
    SLUG,
    TIMEOUT_S,
    component_tests,
    gap_spec,
    source_dir,
    write_gap_component,
)
from tests.support.layouts import layout_of

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
WITH_LINT_VIOLATION = "import os\n\n\n" + OPS  # one violation: F401


def _assemble(
    tmp_path: Path,
    *,
    spec: ComponentSpec,
    ops: str = OPS,
    accepted: dict[str, str] | None = None,
    original_ops: str | None = None,
) -> ReleaseCandidate:
    """`original_ops`: the code before the refactor, whose lint count is the baseline (default: `ops`)."""
    code = write_gap_component(tmp_path / "code", ops=ops)
    original = write_gap_component(tmp_path / "original", ops=OPS if original_ops is None else original_ops)
    accepted = accepted or {}
    accepted_dir = tmp_path / "funnel" / "accepted"
    for relative, content in accepted.items():
        (accepted_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (accepted_dir / relative).write_text(content)
    return assemble_release(
        code,
        layout_of(source_dir(), component_tests()),
        spec=spec,
        accepted_dir=accepted_dir if accepted else None,
        accepted_files=list(accepted),
        work_dir=tmp_path / "release",
        bundles_dir=tmp_path / "bundles",
        project_root=tmp_path / "code",
        run_id="run-0001",
        timeout_s=TIMEOUT_S,
        lint_baseline=lint_report(original, spec.source_path),
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

    assert set(checks) == {
        "all_tests_pass",
        "coverage_meets_threshold",
        EXISTING_TESTS_RAN,
        LINT_GATE,
        CRITERIA_TESTED,
        MUTATION_SCORE,
    }
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


def test_lint_debt_already_in_the_baseline_does_not_fail_the_default_lint_gate(tmp_path: Path) -> None:
    spec = gap_spec(lint_clean=False)
    candidate = _assemble(tmp_path, spec=spec, ops=WITH_LINT_VIOLATION, original_ops=WITH_LINT_VIOLATION)

    gate = _checks(candidate, spec)[LINT_GATE]

    assert gate.passed
    assert gate.description == "1 lint violations, none new (baseline 1); rules: spec2prod's default rules"
    assert (gate.metadata["lint_violations"].value, gate.metadata["lint_violations_baseline"].value) == (1, 1)
    assert gate.metadata["lint_mode"].value == "no_new_violations"


def test_a_new_lint_violation_fails_the_default_lint_gate(tmp_path: Path) -> None:
    spec = gap_spec(lint_clean=False)
    candidate = _assemble(tmp_path, spec=spec, ops=WITH_LINT_VIOLATION, original_ops=OPS)

    gate = _checks(candidate, spec)[LINT_GATE]

    assert not gate.passed
    assert (gate.description or "").startswith("1 new lint violations: 1 now, 0 in the baseline")


def test_lint_debt_fails_the_lint_gate_when_the_spec_asks_for_lint_clean_code(tmp_path: Path) -> None:
    spec = gap_spec(lint_clean=True)
    candidate = _assemble(tmp_path, spec=spec, ops=WITH_LINT_VIOLATION, original_ops=WITH_LINT_VIOLATION)

    gate = _checks(candidate, spec)[LINT_GATE]

    assert not gate.passed
    expected = "1 lint violations: the spec asks for lint-clean code (baseline 1)"
    assert (gate.description or "").startswith(expected)
    assert gate.metadata["lint_mode"].value == "lint_clean"


def test_the_release_lint_count_leaves_generated_tests_out_like_the_baseline(tmp_path: Path) -> None:
    # A generated test written inside the source folder is not code the baseline measured.
    spec = gap_spec(lint_clean=True)
    inside_source = f"{spec.source_path}/test_gen_ops.py"
    candidate = _assemble(tmp_path, spec=spec, accepted={inside_source: "import os\n" + COMPLETING_TEST})

    assert (candidate.lint.violations, candidate.lint_baseline.violations) == (0, 0)
    assert _checks(candidate, spec)[LINT_GATE].passed


def test_gates_fail_closed_when_no_test_ran_or_coverage_is_unreadable(tmp_path: Path) -> None:
    spec = gap_spec(coverage_threshold_pct=0.0)
    candidate = _assemble(tmp_path, spec=spec)
    nothing_ran = candidate.model_copy(
        update={"test_run": candidate.test_run.model_copy(update={"outcomes": (), "coverage": None})}
    )

    checks = _checks(nothing_ran, spec)

    assert not checks["all_tests_pass"].passed
    assert not checks["coverage_meets_threshold"].passed


def test_the_release_suite_writes_junit_xml_and_counts_the_projects_own_tests(tmp_path: Path) -> None:
    spec = gap_spec()
    candidate = _assemble(tmp_path, spec=spec, accepted={ACCEPTED: COMPLETING_TEST})

    assert candidate.junit_xml == str(tmp_path / "release" / "results" / "junit.xml")
    cases = {case.get("name") for case in ET.parse(candidate.junit_xml).getroot().iter("testcase")}
    assert cases == {
        "test_add",
        "test_sign_of_a_positive_number",
        "test_sign_of_negative_numbers_and_zero",
        "test_safe_div",
    }
    # Two of the four are the project's own; the other two came from the generator.
    assert candidate.existing_tests_ran == 2
    assert _checks(candidate, spec)[EXISTING_TESTS_RAN].passed


def test_a_release_backed_only_by_generated_tests_fails_existing_tests_ran(tmp_path: Path) -> None:
    spec = gap_spec()
    code = write_gap_component(tmp_path / "code")
    (code / f"tests/{SLUG}/test_ops.py").unlink()
    accepted_dir = write_files(tmp_path / "accepted", {ACCEPTED: COMPLETING_TEST})
    candidate = assemble_release(
        code,
        layout_of(source_dir(), component_tests()),
        spec=spec,
        accepted_dir=accepted_dir,
        accepted_files=[ACCEPTED],
        work_dir=tmp_path / "release",
        bundles_dir=tmp_path / "bundles",
        project_root=code,
        run_id="run-0001",
        timeout_s=TIMEOUT_S,
        lint_baseline=lint_report(code, spec.source_path),
    )
    assert (candidate.test_run.passed, candidate.existing_tests_ran) == (2, 0)
    assert not _checks(candidate, spec)[EXISTING_TESTS_RAN].passed
    assert _checks(candidate, spec.model_copy(update={"allow_no_tests": True}))[EXISTING_TESTS_RAN].passed


def test_the_bundle_carries_the_projects_configuration_and_every_test_path(tmp_path: Path) -> None:
    spec = gap_spec()
    code = write_gap_component(tmp_path / "code")
    write_files(
        code,
        {
            "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\n',
            ".coveragerc": "[run]\nbranch = true\n",
            "conftest.py": "",
            f"src/{SLUG}/test_inline.py": "def test_inline():\n    assert True\n",
        },
    )
    layout = layout_of(source_dir(), component_tests()).model_copy(
        update={
            "test_paths": (f"tests/{SLUG}", f"src/{SLUG}"),
            "config_files": ("pyproject.toml", ".coveragerc", "conftest.py"),
            "pytest_config": "pyproject.toml",
        }
    )
    candidate = assemble_release(
        code,
        layout,
        spec=spec,
        accepted_dir=None,
        accepted_files=[],
        work_dir=tmp_path / "release",
        bundles_dir=tmp_path / "bundles",
        project_root=code,
        run_id="run-0001",
        timeout_s=TIMEOUT_S,
        lint_baseline=lint_report(code, spec.source_path),
    )
    manifest = verify_bundle(Path(candidate.bundle_path), candidate.bundle_sha256)
    assert {"pyproject.toml", ".coveragerc", "conftest.py", f"src/{SLUG}/test_inline.py"} <= set(
        manifest.files
    )
    assert manifest.config_files == ("pyproject.toml", ".coveragerc", "conftest.py")
    assert manifest.health_tests == (f"tests/{SLUG}", f"src/{SLUG}")
    assert candidate.existing_tests_ran == 3
