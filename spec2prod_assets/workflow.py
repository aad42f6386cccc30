"""`run_workflow`: the Python API of the original orchestrator, now a real Dagster run.

It registers the spec's partition, runs the stage's job on a persistent instance (so the run shows
up in the UI afterwards) with the executor the mode asks for, and reads the outcome back from the
instance rather than trusting in-memory state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import BaseModel, ConfigDict

from resources.project import ProjectResource, default_project_root
from spec2prod_assets.pipeline.jobs import ASYNC_EXECUTION, JOB_FOR_STAGE, JOB_STAGES, SYNC_EXECUTION
from spec2prod_assets.pipeline.partitions import specs_partitions
from spec2prod_assets.pipeline.run_records import (
    NOT_STARTED,
    materialization_metadata,
    stage_timings,
    step_outcomes,
    upstream_steps,
)
from spec2prod_assets.pipeline.stages import WORKFLOW_REPORT
from spec2prod_assets.report.timings import ExecutionMode, TimingSummary, summarize, write_json_report
from spec2prod_assets.spec.model import Stage
from spec2prod_assets.spec.parser import parse_spec
from spec2prod_assets.storage.work_folder import WorkFolder


class StageResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str
    status: str
    duration_s: float
    metadata: dict[str, Any]


class WorkflowResult(BaseModel):
    """What a run did: which stages completed or failed, their metadata and timings, the report."""

    model_config = ConfigDict(frozen=True)

    success: bool
    run_id: str
    component: str
    target_stage: Stage
    execution_mode: ExecutionMode
    stages_completed: tuple[str, ...]
    stages_failed: tuple[str, ...]
    stages: dict[str, StageResult]
    timings: TimingSummary
    report_path: str


def run_workflow(
    spec_file: str | Path,
    target_stage: Stage | str = Stage.PRODUCTION,
    execution_mode: ExecutionMode = "async",
    *,
    project_root: str | Path | None = None,
    instance: dg.DagsterInstance | None = None,
) -> WorkflowResult:
    """Take one spec to `target_stage`. A bad spec raises `SpecError` before anything runs."""
    if execution_mode not in ("async", "sync"):
        raise ValueError(f"execution_mode must be 'async' or 'sync', not {execution_mode!r}")
    stage = Stage(target_stage)
    spec_path = Path(spec_file).resolve()
    root = Path(project_root).resolve() if project_root else project_root_of(spec_path)
    spec = parse_spec(spec_path, root)
    instance = instance or persistent_instance(root)
    register_partitions(instance, [spec.slug])

    job_name = JOB_FOR_STAGE[stage]
    run_config = {
        "execution": SYNC_EXECUTION if execution_mode == "sync" else ASYNC_EXECUTION,
        "resources": {"project": {"config": {"root": str(root)}}},
        # Stage progress and warnings, not every engine event.
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }
    result = dg.execute_job(
        dg.build_reconstructable_job(__name__, job_by_name.__name__, reconstructable_args=(job_name,)),
        instance=instance,
        run_config=run_config,
        tags={"dagster/partition": spec.slug},
    )
    return _read_outcome(instance, result.run_id, spec.slug, stage, execution_mode, root)


def register_partitions(instance: dg.DagsterInstance, slugs: list[str]) -> list[str]:
    """Add the slugs that are not partitions yet; returns the ones added."""
    assert specs_partitions.name is not None
    new = [
        slug
        for slug in dict.fromkeys(slugs)
        if not instance.has_dynamic_partition(specs_partitions.name, slug)
    ]
    if new:
        instance.add_dynamic_partitions(specs_partitions.name, new)
    return new


def project_root_of(spec_path: Path) -> Path:
    """A spec in `<root>/specs/...` belongs to `<root>`; otherwise the configured project."""
    for parent in spec_path.parents:
        if parent.name == "specs":
            return parent.parent
    return Path(default_project_root()).resolve()


def persistent_instance(project_root: Path) -> dg.DagsterInstance:
    """`$DAGSTER_HOME` if set, else a home in the project's work folder: runs stay visible in the UI."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    home = WorkFolder.inside(project_root).dagster_home
    home.mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.from_config(str(home))


def _read_outcome(
    instance: dg.DagsterInstance,
    run_id: str,
    slug: str,
    stage: Stage,
    execution_mode: ExecutionMode,
    root: Path,
) -> WorkflowResult:
    from spec2prod_assets.definitions import defs

    run = instance.get_run_by_id(run_id)
    assert run is not None, f"run {run_id} vanished from the instance"
    steps = step_outcomes(instance, run_id)
    materialized = materialization_metadata(instance, run_id)
    stages: dict[str, StageResult] = {}
    for name in JOB_STAGES[JOB_FOR_STAGE[stage]]:
        step = steps.get(name, NOT_STARTED)
        stages[name] = StageResult(
            stage=name, status=step.status, duration_s=step.duration_s, metadata=materialized.get(name, {})
        )
    timings = summarize(
        run_id,
        stage_timings(instance, run_id, exclude=[WORKFLOW_REPORT]),
        upstream=upstream_steps(defs.resolve_all_asset_specs()),
        execution_mode=execution_mode,
    )
    report_path = materialized.get(WORKFLOW_REPORT, {}).get("report")
    if report_path is None:
        # The report step did not run (an earlier stage failed): the report is still written.
        report_path = str(
            write_json_report(
                timings,
                {"partition": slug, "job": run.job_name, "status": run.status.value},
                ProjectResource(root=str(root)).report_path(slug, run_id),
            )
        )
    return WorkflowResult(
        success=run.status == dg.DagsterRunStatus.SUCCESS,
        run_id=run_id,
        component=slug,
        target_stage=stage,
        execution_mode=execution_mode,
        stages_completed=tuple(n for n, s in stages.items() if s.status == "succeeded"),
        stages_failed=tuple(n for n, s in stages.items() if s.status == "failed"),
        stages=stages,
        timings=timings,
        report_path=str(report_path),
    )


def job_by_name(name: str) -> dg.JobDefinition:
    """Loads a job in any process: the multiprocess executor's workers rebuild it through this."""
    from spec2prod_assets.definitions import defs

    return defs.resolve_job_def(name)
