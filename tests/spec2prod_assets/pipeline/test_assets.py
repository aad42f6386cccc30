"""The assets on a copy of the bundled example, materialized for real: the metadata contract of DESIGN.md,
the example's below-threshold coverage, a project left untouched, and the blocking source-path check."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from resources.project import ProjectResource
from spec2prod_assets.environment.builder import ENV_CACHE_ENV
from spec2prod_assets.project.layout import FOUND_BY_SLUG_FOLDER, FOUND_BY_TESTS_FOLDER, FOUND_NOTHING
from tests.conftest import SPECS_PARTITION, copy_demo, tree_digest, write_files
from tests.spec2prod_assets.environment.local_wheels import offline_uv, write_wheel
from tests.support.pipeline_steps import materialize_stages

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
    selection: list[str],
    project_root: Path,
    work_dir: Path,
    instance: dg.DagsterInstance,
    partition: str = PARTITION,
) -> dg.ExecuteInProcessResult:
    project = ProjectResource(root=str(project_root), work_dir=str(work_dir))
    return materialize_stages(selection, project=project, partition=partition, instance=instance)


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
            ["spec", "baseline_tests", "refactored_code", "workflow_report"],
            project_root,
            base / "work",
            instance,
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        yield Materialized(result, before, tree_digest(project_root))


def test_spec_metadata_counts_requirements_and_criteria(calculator: Materialized) -> None:
    metadata = calculator.metadata("spec")
    assert metadata["requirements_count"] == 7
    assert metadata["acceptance_criteria_count"] == 3  # the 2 Success Criteria bullets only state gates
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


def test_baseline_tests_metadata_says_where_the_tests_came_from_and_which_environment_ran_them(
    calculator: Materialized,
) -> None:
    metadata = calculator.metadata("baseline_tests")
    # The calculator's spec names no tests path: the example's tests/<component> folder is found.
    assert (metadata["tests_found"], metadata["tests_found_by"]) == (2, FOUND_BY_SLUG_FOLDER)
    assert metadata["test_paths"] == "tests/calculator"
    assert isinstance(metadata["environment"], str) and metadata["environment"]
    assert metadata["dependencies_count"] == 0
    assert isinstance(metadata["environment_reused"], bool)
    assert calculator.metadata("refactored_code")["environment"] == metadata["environment"]


def test_a_project_without_tests_warns_loudly_and_says_so_in_the_metadata(
    tmp_path: Path, partitioned_instance: dg.DagsterInstance
) -> None:
    project_root = copy_demo(tmp_path / "demo")
    shutil.rmtree(project_root / "tests")
    result = _materialize(["spec", "baseline_tests"], project_root, tmp_path / "work", partitioned_instance)
    assert result.success
    metadata = Materialized(result, {}, {}).metadata("baseline_tests")
    assert (metadata["tests_found"], metadata["tests_found_by"]) == (0, FOUND_NOTHING)
    warnings = [
        entry.user_message
        for entry in partitioned_instance.all_logs(result.run_id)
        if entry.level == logging.WARNING
    ]
    assert any("NO TESTS FOUND for specs/calculator.md" in message for message in warnings), warnings


_GREETER_PROJECT = {
    "specs/greeter.md": (
        "---\nname: Greeter\nslug: greeter\nrequirements:\n  - id: FR-1\n    text: greets by name\n---\n"
    ),
    "src/greeter/__init__.py": "def greet(name):\n    return f'Hello, {name}!'\n",
    "tests/test_greeter.py": (
        "from greeter import greet\n\n\ndef test_greet(who):\n    assert greet(who) == 'Hello, Ada!'\n"
    ),
    "tests/conftest.py": "import pytest\n\n\n@pytest.fixture\ndef who():\n    return 'Ada'\n",
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["src"]\naddopts = "-ra --strict-markers"\n',
}


def test_the_commonest_layout_runs_its_own_tests_in_the_baseline(tmp_path: Path) -> None:
    project_root = write_files(tmp_path / "greeter", _GREETER_PROJECT)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(SPECS_PARTITION, ["greeter"])
        result = _materialize(
            ["spec", "baseline_tests"], project_root, tmp_path / "work", instance, partition="greeter"
        )
    assert result.success
    metadata = Materialized(result, {}, {}).metadata("baseline_tests")
    assert (metadata["tests_found"], metadata["tests_passed"]) == (1, 1)
    assert metadata["tests_found_by"] == FOUND_BY_TESTS_FOLDER
    assert (
        metadata["config_files"] == "pyproject.toml, tests/conftest.py"
        or metadata["config_files"] == "pyproject.toml"
    )
    assert metadata["line_coverage_pct"] == 100.0


# `tinydep` is a package spec2prod does not have: only the component's own environment can import it.
_TINYDEP = "def shout(text):\n    return text.upper()\n"
_LOUD_GREETER = {
    "src/greeter/__init__.py": (
        "from tinydep import shout\n\n\ndef greet(name):\n    return shout(f'Hello, {name}!')\n"
    ),
    "tests/test_greeter.py": (
        "from greeter import greet\n\n\ndef test_greet(who):\n    assert greet(who) == 'HELLO, ADA!'\n"
    ),
    "pyproject.toml": (
        '[project]\nname = "greeter"\nversion = "1"\ndependencies = ["tinydep==1.0"]\n\n'
        + _GREETER_PROJECT["pyproject.toml"]
    ),
}


def test_a_component_that_imports_a_third_party_package_runs_in_its_own_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    write_wheel(wheelhouse, "tinydep", "1.0", {"tinydep/__init__.py": _TINYDEP})
    offline_uv(monkeypatch, wheelhouse, tmp_path / "uv-cache")
    monkeypatch.setenv(ENV_CACHE_ENV, str(tmp_path / "envs"))
    project_root = write_files(tmp_path / "greeter", {**_GREETER_PROJECT, **_LOUD_GREETER})
    runs = []
    for attempt in range(2):
        with dg.DagsterInstance.ephemeral() as instance:
            instance.add_dynamic_partitions(SPECS_PARTITION, ["greeter"])
            result = _materialize(
                ["spec", "baseline_tests"],
                project_root,
                tmp_path / f"work{attempt}",
                instance,
                partition="greeter",
            )
            assert result.success
            runs.append(Materialized(result, {}, {}).metadata("baseline_tests"))
    assert (runs[0]["tests_passed"], runs[0]["tests_failed"]) == (1, 0)
    assert runs[0]["dependencies_count"] == 1
    assert (runs[0]["environment_reused"], runs[1]["environment_reused"]) == (False, True)
    assert runs[0]["environment"] == runs[1]["environment"]


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
        ["spec", "baseline_tests"], project_root, tmp_path / "work", partitioned_instance, component
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
    for key in ("wall_s", "sum_stage_s", "critical_path_s", "parallel_savings_s", "overhead_s", "duration_s"):
        assert isinstance(metadata[key], float), key
    assert metadata["overhead_s"] == pytest.approx(metadata["wall_s"] - metadata["critical_path_s"], abs=0.01)
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
        ["spec", "baseline_tests", "refactored_code"], project_root, tmp_path / "work", partitioned_instance
    )
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("source_path_inside_project", False)
    assert "does not exist" in str(check.description)
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"spec"}
    started = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START}
    assert started == {"spec_and_baseline"}
