"""`release_candidate` materialized by Dagster on a copy of the bundled example: the JUnit XML artifact,
the project's own tests counted, the environment that ran them, and the gates that say what they measured.

Everything upstream is real except the generator, a fake that returns one good test.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from textwrap import dedent

import dagster as dg
import pytest

from resources.project import ProjectResource
from spec2prod_assets.environment.builder import ENV_CACHE_ENV
from spec2prod_assets.pipeline.checks import (
    COVERAGE_MEETS_THRESHOLD,
    CRITERIA_TESTED,
    EXISTING_TESTS_RAN,
    MUTATION_SCORE,
)
from spec2prod_assets.pipeline.mutation_stage import MUTATION_BUDGET_ENV
from spec2prod_assets.pipeline.partitions import specs_partitions
from spec2prod_assets.release.bundle import verify_bundle
from tests.conftest import copy_demo
from tests.spec2prod_assets.environment.local_wheels import offline_uv, write_wheel
from tests.support.fake_generators import OneFileGenerator, Script
from tests.support.pipeline_steps import materialize_stages

PARTITION = "calculator"
GOOD_TEST = dedent(
    """\
    import pytest

    from calculator import divide


    @pytest.mark.spec("AC-2")
    def test_divide_by_zero_raises_value_error():
        with pytest.raises(ValueError):
            divide(1, 0)
    """
)


def _materialize(
    project_root: Path, work_dir: Path, generator: OneFileGenerator | None = None
) -> dg.ExecuteInProcessResult:
    project = ProjectResource(root=str(project_root), work_dir=str(work_dir), test_timeout_s=120.0)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(specs_partitions.name, [PARTITION])
    return materialize_stages(
        ["spec", "baseline_tests", "generated_tests", "refactored_code", "release_candidate"],
        project=project,
        partition=PARTITION,
        instance=instance,
        resources={
            "test_generator": generator or _generator(),
        },
        run_config={
            "ops": {
                "generated_tests": {
                    "config": {"poll_interval_s": 0.05, "deadline_s": 60.0, "reliability_runs": 1}
                }
            }
        },
    )


def _generator() -> OneFileGenerator:
    return OneFileGenerator(name="one-good-test", content=GOOD_TEST, default_script=Script())


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> dg.ExecuteInProcessResult:
    base = tmp_path_factory.mktemp("release")
    return _materialize(copy_demo(base / "demo"), base / "work")


def _release_metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    [event] = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("release_candidate")
    ]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def _check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == name]
    return check


def test_the_release_suite_leaves_a_junit_xml_artifact(materialized: dg.ExecuteInProcessResult) -> None:
    metadata = _release_metadata(materialized)
    junit = Path(str(metadata["junit_xml"]))
    names = {case.get("name") for case in ET.parse(junit).getroot().iter("testcase")}
    assert "test_divide_by_zero_raises_value_error" in names
    assert len(names) == metadata["tests_passed"]


def test_the_projects_own_tests_ran_in_the_release_and_the_gate_says_so(
    materialized: dg.ExecuteInProcessResult,
) -> None:
    metadata = _release_metadata(materialized)
    assert metadata["existing_tests_ran"] == 2
    check = _check(materialized, EXISTING_TESTS_RAN)
    assert check.passed
    assert check.description == "2 of the project's own tests ran (found by the tests/<component> folder)"


def test_the_release_records_its_environment_and_all_three_coverage_measures(
    materialized: dg.ExecuteInProcessResult,
) -> None:
    metadata = _release_metadata(materialized)
    assert isinstance(metadata["environment"], str) and metadata["dependencies_count"] == 0
    assert metadata["environment_reused"] is True  # the baseline built it moments before
    for key in ("line_coverage_pct", "branch_coverage_pct", "total_coverage_pct"):
        assert isinstance(metadata[key], float), key
    check = _check(materialized, COVERAGE_MEETS_THRESHOLD)
    assert check.metadata["coverage_kind"].value == "line"
    value = check.metadata["coverage_pct"].value
    assert value == metadata["line_coverage_pct"]
    verdict = "meets" if check.passed else "is below"
    assert check.description == f"line coverage {value:.2f}% {verdict} the spec's 80%"


def test_the_release_traces_each_acceptance_criterion_to_the_passing_tests_that_claim_it(
    materialized: dg.ExecuteInProcessResult,
) -> None:
    """The generated test claims AC-2 with the marker; the example's own tests claim nothing."""
    metadata = _release_metadata(materialized)
    [generated] = [line for line in str(metadata["traceability"]).splitlines() if line.startswith("| AC-2 ")]
    assert "test_divide_by_zero_raises_value_error" in generated, metadata["traceability"]
    assert metadata["criteria_traced"] == 1
    assert metadata["criteria_untested"] == metadata["criteria_total"] - 1
    untested = str(metadata["untested_criteria"]).split(", ")
    assert "AC-2" not in untested and {"AC-1", "AC-3"} <= set(untested), untested


def test_a_project_whose_tests_are_gone_fails_the_release_at_existing_tests_ran(tmp_path: Path) -> None:
    project_root = copy_demo(tmp_path / "demo")
    shutil.rmtree(project_root / "tests")
    result = _materialize(project_root, tmp_path / "work")
    assert not result.success
    check = _check(result, EXISTING_TESTS_RAN)
    assert not check.passed
    assert "none of the project's own tests ran" in (check.description or "")


def test_the_bundle_records_the_components_dependencies_and_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_wheel(tmp_path / "wheelhouse", "tinydep", "1.0", {"tinydep/__init__.py": "VALUE = 1\n"})
    offline_uv(monkeypatch, tmp_path / "wheelhouse", tmp_path / "uv-cache")
    monkeypatch.setenv(ENV_CACHE_ENV, str(tmp_path / "envs"))
    project_root = copy_demo(tmp_path / "demo")
    (project_root / "requirements.txt").write_text("tinydep==1.0\n")
    (project_root / "pyproject.toml").write_text("[tool.coverage.report]\nshow_missing = true\n")

    metadata = _release_metadata(_materialize(project_root, tmp_path / "work"))

    manifest = verify_bundle(Path(str(metadata["bundle"])), str(metadata["bundle_sha256"]))
    assert manifest.dependencies == ("tinydep==1.0",)
    assert metadata["dependencies_count"] == 1
    assert manifest.config_files == ("pyproject.toml",) and "pyproject.toml" in manifest.files


def _with_success_criteria(project_root: Path, *bullets: str) -> Path:
    """The calculator's spec with more Success Criteria bullets (the gates a spec can ask for)."""
    spec = project_root / "specs" / "calculator.md"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(
        text.replace("## Success Criteria\n", "## Success Criteria\n" + "".join(f"- {b}\n" for b in bullets)),
        encoding="utf-8",
    )
    return project_root


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> tuple[dg.ExecuteInProcessResult, OneFileGenerator]:
    """The calculator asking for a mutation score of 100% and a passing test per acceptance criterion,
    with mutation testing at its default budget: the baseline suite is mutated before generation and the
    release suite after, in the one run, and both gates fail, each naming what is missing."""
    base = tmp_path_factory.mktemp("gated")
    project = _with_success_criteria(
        copy_demo(base / "demo"), "Mutation score >= 100%", "Every acceptance criterion has a passing test"
    )
    generator = _generator()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(MUTATION_BUDGET_ENV)  # the test session turns it off; this run uses the default
        return _materialize(project, base / "work", generator), generator


def test_the_release_suite_kills_more_mutants_than_the_baseline_measured_in_the_same_run(
    gated: tuple[dg.ExecuteInProcessResult, OneFileGenerator],
) -> None:
    """The accepted generated test (divide by zero raises) kills mutants the example's own tests miss."""
    metadata = _release_metadata(gated[0])
    assert isinstance(metadata["mutants_total"], int) and metadata["mutants_total"] > 0
    assert metadata["mutants_run"] == metadata["mutants_run_before"]  # the same mutants of the same code
    assert metadata["mutants_killed"] > metadata["mutants_killed_before"], metadata  # type: ignore[operator]
    assert metadata["mutation_score_pct"] > metadata["mutation_score_before_pct"], metadata  # type: ignore[operator]
    survivors = metadata["surviving_mutants"]
    assert survivors.records, survivors  # type: ignore[attr-defined]
    assert all(r.data["file"].startswith("src/calculator/") for r in survivors.records)  # type: ignore[attr-defined]


def test_the_baseline_suites_surviving_mutants_are_in_the_generation_task_and_its_metadata(
    gated: tuple[dg.ExecuteInProcessResult, OneFileGenerator],
) -> None:
    result, generator = gated
    [event] = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("generated_tests")
    ]
    metadata = {key: value.value for key, value in event.materialization.metadata.items()}
    assert metadata["baseline_mutation_score_pct"] == _release_metadata(result)["mutation_score_before_pct"]
    survivors = metadata["baseline_surviving_mutants"].records  # type: ignore[attr-defined]
    assert survivors
    [task] = generator.submitted_tasks()
    assert "surviving mutants" in task.instructions
    first = survivors[0].data
    assert f"line {first['line']}: `{first['change']}`" in task.instructions
    assert ": covers " in str(metadata["accepted_tests"])  # each accepted test says why it was kept


def test_a_mutation_gate_the_release_suite_misses_fails_with_the_score(
    gated: tuple[dg.ExecuteInProcessResult, OneFileGenerator],
) -> None:
    assert not gated[0].success
    check = _check(gated[0], MUTATION_SCORE)
    assert not check.passed
    assert "is below the spec's 100%" in (check.description or ""), check.description


def test_a_criterion_no_passing_test_claims_fails_the_traceability_gate_naming_it(
    gated: tuple[dg.ExecuteInProcessResult, OneFileGenerator],
) -> None:
    check = _check(gated[0], CRITERIA_TESTED)
    assert not check.passed
    description = check.description or ""
    assert "AC-1 (" in description and "AC-3 (" in description and "AC-2" not in description, description


def test_with_mutation_testing_off_the_release_says_so_and_ungated_checks_pass(
    materialized: dg.ExecuteInProcessResult,
) -> None:
    metadata = _release_metadata(materialized)
    assert "mutants_total" not in metadata
    assert metadata["mutation"] == f"not measured: {MUTATION_BUDGET_ENV} is 0"
    assert _check(materialized, MUTATION_SCORE).passed and _check(materialized, CRITERIA_TESTED).passed
