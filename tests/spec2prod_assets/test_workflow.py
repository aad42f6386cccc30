"""`run_workflow`, the Python API: a real Dagster run on a persistent instance, in either mode, with the
executor that mode promises; a bad spec stops it before anything runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from spec2prod_assets.pipeline.run_events import run_failures
from spec2prod_assets.report.run_result import StageFailure
from spec2prod_assets.run_plan import StageBeyondTargetError
from spec2prod_assets.spec.model import SpecError
from spec2prod_assets.workflow import WorkflowResult, persistent_instance, run_workflow
from tests.conftest import SPECS_PARTITION, copy_demo

CORE_STAGES = ("spec", "baseline_tests", "refactored_code", "workflow_report")
IN_PROCESS = "Executing steps in process"
MULTIPROCESS = "Executing steps using multiprocess executor"


@dataclass(frozen=True)
class Workflow:
    result: WorkflowResult
    project_root: Path
    engine_messages: list[str]
    engine_pid: int
    step_pids: dict[str, int]


def _run(base: Path, mode: str) -> Workflow:
    """Run spec_to_dev for the calculator on a fresh copy, with its own $DAGSTER_HOME, in `mode`."""
    project_root = copy_demo(base / "demo")
    home = base / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        result = run_workflow(project_root / "specs" / "calculator.md", "dev", mode)  # type: ignore[arg-type]
        with dg.DagsterInstance.get() as instance:
            events = [e.dagster_event for e in instance.all_logs(result.run_id) if e.dagster_event]
    engine = [e for e in events if e.event_type == dg.DagsterEventType.ENGINE_EVENT and e.step_key is None]
    return Workflow(
        result=result,
        project_root=project_root,
        engine_messages=[e.message or "" for e in engine],
        engine_pid=engine[0].pid or 0,
        step_pids={
            str(e.step_key): e.pid or 0 for e in events if e.event_type == dg.DagsterEventType.STEP_START
        },
    )


@pytest.fixture(scope="module")
def sync_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workflow]:
    yield _run(tmp_path_factory.mktemp("sync"), "sync")


def test_sync_mode_succeeds_through_every_dev_stage(sync_run: Workflow) -> None:
    result = sync_run.result
    assert result.success, result.stages
    assert set(CORE_STAGES) <= set(result.stages_completed)
    assert result.stages_failed == ()
    assert result.component == "calculator"


def test_sync_mode_records_its_execution_mode(sync_run: Workflow) -> None:
    assert sync_run.result.execution_mode == "sync"
    assert sync_run.result.timings.execution_mode == "sync"
    assert sync_run.result.stages["workflow_report"].metadata["execution_mode"] == "sync"
    assert sync_run.result.execution_mode_reason == "sync mode was asked for"
    assert sync_run.result.stages["workflow_report"].metadata["execution_mode_reason"] == (
        "sync mode was asked for"
    )


def test_sync_mode_writes_the_report_file(sync_run: Workflow) -> None:
    report = Path(sync_run.result.report_path)
    assert report.is_file()
    assert report.is_relative_to(sync_run.project_root)
    payload = json.loads(report.read_text(encoding="utf-8"))
    assert payload["execution_mode"] == "sync"
    assert payload["execution_mode_reason"] == "sync mode was asked for"
    assert payload["run_id"] == sync_run.result.run_id
    assert payload["failures"] == [] and sync_run.result.failures == ()
    assert set(CORE_STAGES) - {"workflow_report"} <= {row["stage"] for row in payload["stages"]}


def test_sync_mode_runs_every_step_in_the_run_process(sync_run: Workflow) -> None:
    assert any(IN_PROCESS in message for message in sync_run.engine_messages)
    assert not any(MULTIPROCESS in message for message in sync_run.engine_messages)
    assert set(sync_run.step_pids.values()) == {sync_run.engine_pid}


def test_stage_results_carry_their_metadata_and_timings(sync_run: Workflow) -> None:
    baseline = sync_run.result.stages["baseline_tests"]
    assert baseline.status == "succeeded"
    assert baseline.duration_s > 0
    assert baseline.metadata["tests_passed"] == 2
    assert sync_run.result.timings.sum_stage_s > 0


def test_sync_mode_stores_asset_values_in_the_projects_own_work_folder(sync_run: Workflow) -> None:
    artifact = Path(str(sync_run.result.stages["spec"].metadata["artifact"]))
    assert artifact.is_relative_to(sync_run.project_root)


@pytest.mark.e2e
def test_async_mode_runs_steps_in_child_processes(tmp_path: Path) -> None:
    run = _run(tmp_path, "async")
    assert run.result.success, run.result.stages
    assert set(CORE_STAGES) <= set(run.result.stages_completed)
    assert run.result.execution_mode == "async"
    assert run.result.stages["workflow_report"].metadata["execution_mode"] == "async"
    assert Path(run.result.report_path).is_file()
    assert any(MULTIPROCESS in message for message in run.engine_messages)
    assert run.engine_pid not in set(run.step_pids.values())
    assert len(set(run.step_pids.values())) == len(run.step_pids), "each step gets its own process"


def test_a_bad_spec_raises_before_any_run(demo_project: Path, dagster_home: Path) -> None:
    bad = demo_project / "specs" / "broken.md"
    bad.write_text(
        "# Component Specification: Broken\n\n## Overview\nNo requirements at all.\n", encoding="utf-8"
    )
    with pytest.raises(SpecError, match=r"broken\.md"):
        run_workflow(bad, "dev", "sync")
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs_count() == 0
        assert instance.get_dynamic_partitions(SPECS_PARTITION) == []


def test_an_unknown_execution_mode_is_refused(demo_project: Path, dagster_home: Path) -> None:
    with pytest.raises(ValueError, match="execution_mode"):
        run_workflow(demo_project / "specs" / "calculator.md", "dev", "threads")  # type: ignore[arg-type]


def test_a_stage_beyond_the_specs_target_raises_before_any_run(
    demo_project: Path, dagster_home: Path
) -> None:
    spec = demo_project / "specs" / "calculator.md"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("**Target Stage:** production", "**Target Stage:** dev")
    )
    with pytest.raises(StageBeyondTargetError, match="beyond the spec's target stage"):
        run_workflow(spec, "staging", "sync")
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs_count() == 0


def test_the_instance_spec2prod_creates_has_telemetry_off(
    demo_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with persistent_instance(demo_project) as instance:
        assert instance.root_directory is not None
        config = Path(instance.root_directory) / "dagster.yaml"
        assert "telemetry:\n  enabled: false" in config.read_text(encoding="utf-8")
        assert instance.python_log_level == "INFO"


def test_a_users_dagster_yaml_in_that_home_is_kept(
    demo_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = demo_project / ".spec2prod" / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n", encoding="utf-8")
    persistent_instance(demo_project).dispose()
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == "telemetry:\n  enabled: true\n"


@dg.asset
def raises_an_error() -> None:
    raise ValueError("the widget is missing\nand more detail")


@dg.asset
def raises_a_failure() -> None:
    raise dg.Failure(description="production refused the bundle\n\nhealth output follows")


@dg.asset(check_specs=[dg.AssetCheckSpec("big_enough", asset="fails_a_check", blocking=True)])
def fails_a_check() -> Iterator[dg.Output[int] | dg.AssetCheckResult]:
    yield dg.Output(1)
    yield dg.AssetCheckResult(check_name="big_enough", passed=False, description="1 is below 2\nsecond line")


def _failures_of(asset: dg.AssetsDefinition) -> list[StageFailure]:
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([asset], instance=instance, raise_on_error=False)
        return run_failures(instance, result.run_id, "demo")


def test_a_step_error_is_its_exception_class_and_first_line() -> None:
    assert _failures_of(raises_an_error) == [
        StageFailure(stage="raises_an_error", error="ValueError", message="the widget is missing")
    ]


def test_a_dagster_failure_is_its_description_first_line() -> None:
    [failure] = _failures_of(raises_a_failure)
    assert (failure.error, failure.message) == ("Failure", "production refused the bundle")


def test_a_failed_blocking_check_is_named_once_with_its_description() -> None:
    assert _failures_of(fails_a_check) == [
        StageFailure(stage="fails_a_check", check="big_enough", message="1 is below 2")
    ]
