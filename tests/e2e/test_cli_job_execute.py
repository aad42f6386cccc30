"""The path CI takes, through the real command line: register the partitions, then `dagster job execute`
in a fresh $DAGSTER_HOME on a copy of the example, then read the materializations back from the instance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.e2e.cli_runs import registered_project, run_cli

pytestmark = pytest.mark.e2e

PARTITION = "calculator"
# DESIGN.md's observable contract, for the assets the spec_to_dev job materializes.
CONTRACT = {
    "spec": {"duration_s", "requirements_count", "acceptance_criteria_count", "coverage_threshold_pct"},
    "baseline_tests": {
        "duration_s",
        "tests_passed",
        "tests_failed",
        "line_coverage_pct",
        "branch_coverage_pct",
    },
    "refactored_code": {
        "duration_s",
        "files_changed",
        "lint_violations_before",
        "lint_violations_after",
        "refactor_kept",
    },
    "generated_tests": {
        "duration_s",
        "generator",
        "tasks_submitted",
        "tasks_succeeded",
        "tests_generated",
        "tests_accepted",
        "coverage_before_pct",
        "coverage_after_pct",
        "cost_usd",
    },
    "release_candidate": {"duration_s", "bundle_sha256", "tests_passed", "tests_failed", "line_coverage_pct"},
    "workflow_report": {
        "duration_s",
        "execution_mode",
        "wall_s",
        "sum_stage_s",
        "critical_path_s",
        "parallel_savings_s",
        "overhead_s",
    },
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Run registration and `dagster job execute -j spec_to_dev` once; returns (DAGSTER_HOME, project)."""
    base = tmp_path_factory.mktemp("cli")
    home, project, env = registered_project(base)
    run_cli(
        [
            "dagster",
            "job",
            "execute",
            "-m",
            "spec2prod_assets.definitions",
            "-j",
            "spec_to_dev",
            "--tags",
            json.dumps({"dagster/partition": PARTITION}),
        ],
        cwd=base,
        env=env,
    )
    return home, project


@pytest.fixture
def instance(executed: tuple[Path, Path]) -> Iterator[dg.DagsterInstance]:
    home, _ = executed
    with dg.DagsterInstance.from_config(str(home)) as opened:
        yield opened


def _job_assets() -> set[str]:
    from spec2prod_assets.definitions import defs

    job = defs.resolve_job_def("spec_to_dev")
    return {key.to_user_string() for key in job.asset_layer.selected_asset_keys}


def test_registration_put_both_specs_on_the_instance(instance: dg.DagsterInstance) -> None:
    assert sorted(instance.get_dynamic_partitions("specs")) == ["calculator", "text_stats"]


def test_the_job_ran_once_for_the_partition_and_succeeded(instance: dg.DagsterInstance) -> None:
    [run] = instance.get_runs()
    assert run.job_name == "spec_to_dev"
    assert run.tags["dagster/partition"] == PARTITION
    assert run.status == dg.DagsterRunStatus.SUCCESS


def test_the_cli_run_used_the_multiprocess_executor(instance: dg.DagsterInstance) -> None:
    [run] = instance.get_runs()
    messages = [
        e.user_message for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    ]
    assert any("multiprocess executor" in message for message in messages)


def test_every_asset_of_the_job_was_materialized_for_the_partition_with_its_metadata(
    instance: dg.DagsterInstance,
) -> None:
    expected = _job_assets()
    assert {"spec", "baseline_tests", "refactored_code", "workflow_report"} <= expected
    for asset in sorted(expected):
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[PARTITION]), limit=5
        ).records
        assert len(records) == 1, f"{asset}: {len(records)} materializations"
        materialization = records[0].asset_materialization
        assert materialization is not None
        assert materialization.partition == PARTITION
        missing = CONTRACT.get(asset, {"duration_s"}) - set(materialization.metadata)
        assert not missing, f"{asset} lacks {sorted(missing)}"
        assert isinstance(materialization.metadata["duration_s"].value, float)


def test_the_report_saw_stages_overlap_in_async_mode(instance: dg.DagsterInstance) -> None:
    [record] = instance.fetch_materializations(dg.AssetKey("workflow_report"), limit=1).records
    assert record.asset_materialization is not None
    metadata = record.asset_materialization.metadata
    assert metadata["execution_mode"].value == "async"
    # generated_tests and refactored_code both start when baseline_tests ends, in two processes.
    assert metadata["parallel_savings_s"].value > 0


def test_the_blocking_source_path_check_passed(instance: dg.DagsterInstance) -> None:
    [run] = instance.get_runs()
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluations = [
        record.event_log_entry.dagster_event.event_specific_data
        for record in records.records
        if record.event_log_entry.dagster_event is not None
    ]
    by_name = {
        e.check_name: e.passed
        for e in evaluations
        if isinstance(e, dg.AssetCheckEvaluation) and e.asset_key == dg.AssetKey("spec")
    }
    assert by_name == {"source_path_inside_project": True}


def test_artifacts_went_to_the_configured_project(executed: tuple[Path, Path]) -> None:
    _, project = executed
    assets_dir = project / ".spec2prod" / PARTITION / "assets"
    assert {"spec.json", "baseline_tests.json", "refactored_code.json"} <= {
        p.name for p in assets_dir.iterdir()
    }
