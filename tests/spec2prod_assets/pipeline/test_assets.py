"""The assets on a copy of the bundled example, materialized for real: the metadata contract of DESIGN.md,
the example's below-threshold coverage, a project left untouched, and the blocking source-path check."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from resources.artifact_io import ArtifactIOManager
from resources.project import ProjectResource
from spec2prod_assets.pipeline.assets import baseline_tests, refactored_code, spec, workflow_report
from tests.conftest import SPECS_PARTITION, copy_demo, tree_digest

PARTITION = "calculator"


@dataclass(frozen=True)
class Materialized:
    result: dg.ExecuteInProcessResult
    project_before: dict[str, str]
    project_after: dict[str, str]

    def metadata(self, asset: str) -> dict[str, object]:
        [event] = [
            e for e in self.result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)
        ]
        return {key: _plain(value) for key, value in event.materialization.metadata.items()}


def _plain(value: dg.MetadataValue) -> object:
    """Numbers and text as themselves, a table as a list of row dicts."""
    if isinstance(value, dg.TableMetadataValue):
        return [record.data for record in value.records]
    return value.value


def _materialize(
    assets: list[dg.AssetsDefinition],
    project_root: Path,
    work_dir: Path,
    instance: dg.DagsterInstance,
    partition: str = PARTITION,
) -> dg.ExecuteInProcessResult:
    project = ProjectResource(root=str(project_root), work_dir=str(work_dir))
    return dg.materialize(
        assets,
        partition_key=partition,
        resources={"project": project, "io_manager": ArtifactIOManager(project=project)},
        instance=instance,
        raise_on_error=False,
    )


@pytest.fixture(scope="module")
def calculator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Materialized]:
    """spec, baseline_tests, refactored_code and workflow_report for the calculator, once per module.

    The work folder is outside the project, so every byte of the project can be compared afterwards.
    """
    base = tmp_path_factory.mktemp("calculator")
    project_root = copy_demo(base / "demo")
    before = tree_digest(project_root)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(SPECS_PARTITION, [PARTITION])
        result = _materialize(
            [spec, baseline_tests, refactored_code, workflow_report], project_root, base / "work", instance
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        yield Materialized(result, before, tree_digest(project_root))


def test_spec_metadata_counts_requirements_and_criteria(calculator: Materialized) -> None:
    metadata = calculator.metadata("spec")
    assert metadata["requirements_count"] == 7
    assert metadata["acceptance_criteria_count"] == 3
    assert metadata["coverage_threshold_pct"] == 80.0
    assert isinstance(metadata["coverage_threshold_pct"], float)
    assert isinstance(metadata["duration_s"], float)


def test_the_source_path_check_passes_for_the_example(calculator: Materialized) -> None:
    [check] = calculator.result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("source_path_inside_project", True)


def test_baseline_tests_metadata_has_counts_and_coverage(calculator: Materialized) -> None:
    metadata = calculator.metadata("baseline_tests")
    assert (metadata["tests_passed"], metadata["tests_failed"]) == (2, 0)
    for key in ("line_coverage_pct", "branch_coverage_pct", "duration_s"):
        assert isinstance(metadata[key], float), key
    assert 0.0 < metadata["line_coverage_pct"] < 100.0


def test_baseline_tests_metadata_has_a_row_per_test(calculator: Materialized) -> None:
    table = calculator.metadata("baseline_tests")["test_outcomes"]
    assert isinstance(table, list)
    rows = {row["test"]: row["outcome"] for row in table}
    assert rows == {
        "tests/calculator/test_operations.py::test_add_returns_sum": "passed",
        "tests/calculator/test_operations.py::test_subtract_returns_difference": "passed",
    }


def test_baseline_tests_metadata_names_the_uncovered_lines(calculator: Materialized) -> None:
    uncovered = calculator.metadata("baseline_tests")["uncovered_lines"]
    assert "src/calculator/operations.py" in str(uncovered)


@pytest.mark.parametrize("component", ["calculator", "text_stats"])
def test_the_example_tests_cover_less_than_the_spec_asks(
    component: str, tmp_path: Path, partitioned_instance: dg.DagsterInstance
) -> None:
    project_root = copy_demo(tmp_path / "demo")
    result = _materialize(
        [spec, baseline_tests], project_root, tmp_path / "work", partitioned_instance, component
    )
    assert result.success
    by_asset = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    threshold = by_asset["spec"]["coverage_threshold_pct"].value
    line_coverage = by_asset["baseline_tests"]["line_coverage_pct"].value
    assert isinstance(threshold, float) and isinstance(line_coverage, float)
    assert line_coverage < threshold


def test_refactored_code_metadata_shows_the_lint_debt_paid(calculator: Materialized) -> None:
    metadata = calculator.metadata("refactored_code")
    assert metadata["refactor_kept"] is True
    assert metadata["files_changed"] == 2
    assert metadata["lint_violations_before"] > metadata["lint_violations_after"]
    assert metadata["lint_violations_after"] == 0
    assert isinstance(metadata["duration_s"], float)
    patch = Path(str(metadata["patch"])).read_text(encoding="utf-8")
    assert "a/src/calculator/operations.py" in patch


def test_the_project_is_not_touched(calculator: Materialized) -> None:
    assert calculator.project_after == calculator.project_before


def test_workflow_report_metadata_has_the_timing_summary(calculator: Materialized) -> None:
    metadata = calculator.metadata("workflow_report")
    assert metadata["execution_mode"] in ("async", "sync")
    for key in ("wall_s", "sum_stage_s", "critical_path_s", "parallel_savings_s", "duration_s"):
        assert isinstance(metadata[key], float), key
    stages_table = metadata["stages"]
    assert isinstance(stages_table, list)
    stages = {row["stage"] for row in stages_table}
    assert stages == {"spec", "baseline_tests", "refactored_code"}
    report = json.loads(Path(str(metadata["report"])).read_text(encoding="utf-8"))
    assert report["partition"] == PARTITION
    assert {row["stage"] for row in report["stages"]} == stages


def test_a_missing_source_path_fails_the_blocking_check_and_stops_downstream(
    tmp_path: Path, partitioned_instance: dg.DagsterInstance
) -> None:
    project_root = copy_demo(tmp_path / "demo")
    shutil.rmtree(project_root / "src" / "calculator")
    result = _materialize(
        [spec, baseline_tests, refactored_code], project_root, tmp_path / "work", partitioned_instance
    )
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("source_path_inside_project", False)
    assert "does not exist" in str(check.description)
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"spec"}
    started = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START}
    assert started.isdisjoint({"baseline_tests", "refactored_code"})
