"""`run_workflow`: the Python API of the original orchestrator, now a real Dagster run.

It checks the spec before Dagster starts (a typo costs a second, not a run), registers the spec's
partition, runs the stage's job on a persistent instance (so the run shows up in the UI afterwards) with
the executor the mode asks for, and reads the outcome back from the instance rather than trusting
in-memory state: stage statuses, timings, and why a stage failed (a failed check's own description, a
step error's one-line message). While the run goes on, each stage that ends is handed to `on_stage`,
read from the same event log, so progress looks the same whether steps run here or in workers.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

from resources.generators import generator_is_remote
from resources.project import ProjectResource
from spec2prod_assets.pipeline.assets import GENERATOR_POOL
from spec2prod_assets.pipeline.executors import execution_config
from spec2prod_assets.pipeline.jobs import (
    EXECUTOR_PROFILE,
    JOB_FOR_STAGE,
    JOB_STAGES,
    start_step_workers_early,
)
from spec2prod_assets.pipeline.partitions import specs_partitions
from spec2prod_assets.pipeline.pools import ensure_pool_limits, free_slots_of_ended_run
from spec2prod_assets.pipeline.run_events import FOLLOWED, RunReader, run_failures
from spec2prod_assets.pipeline.run_records import (
    NOT_STARTED,
    ended_stages,
    materialization_metadata,
    outcomes_in_words,
    stage_records,
    upstream_steps,
)
from spec2prod_assets.pipeline.stages import RELEASE_CANDIDATE, WORKFLOW_REPORT
from spec2prod_assets.report.run_result import (
    StageFinished,
    StageResult,
    WorkflowResult,
)
from spec2prod_assets.report.timings import summarize, write_json_report
from spec2prod_assets.run_mode import ModeChoice, RequestedMode, choose_mode
from spec2prod_assets.run_plan import PlannedRun, plan_run
from spec2prod_assets.runtime.processes import usable_cores
from spec2prod_assets.spec.model import Stage
from spec2prod_assets.storage.work_folder import WorkFolder

__all__ = ["StageResult", "WorkflowResult", "persistent_instance", "register_partitions", "run_workflow"]

# Finds the run `execute_job` is about to create, so its events can be followed before it returns.
INVOCATION_TAG = "spec2prod/invocation"
# Telemetry off (no banner, nothing sent); INFO keeps the multiprocess workers' start-up DEBUG lines, which
# Dagster prints before a run's own logger config applies, out of the console.
QUIET_INSTANCE_CONFIG = """\
# Written by spec2prod for the runs it starts; edit freely.
telemetry:
  enabled: false
# Generation steps (OpenHands tasks or CrossHair) of runs sharing this instance, at most 2 at once.
concurrency:
  pools:
    default_limit: 2
python_logs:
  python_log_level: INFO
"""
OnStage = Callable[[StageFinished], None]


def run_workflow(
    spec_file: str | Path,
    target_stage: Stage | str | None = None,
    execution_mode: RequestedMode = "auto",
    *,
    project_root: str | Path | None = None,
    instance: dg.DagsterInstance | None = None,
    beyond_target: bool = False,
    log_level: str = "INFO",
    on_stage: OnStage | None = None,
) -> WorkflowResult:
    """Take one spec to `target_stage` (default: the spec's own `target_stage`; further only with
    `beyond_target`). A bad spec raises `SpecError`, a stage too far `StageBeyondTargetError`, both
    before anything runs. `log_level` is the level of Dagster's console event log for the run."""
    if execution_mode not in ("auto", "async", "sync"):
        raise ValueError(f"execution_mode must be 'auto', 'async' or 'sync', not {execution_mode!r}")
    planned = plan_run(
        Path(spec_file),
        project_root=Path(project_root) if project_root else None,
        stage=Stage(target_stage) if target_stage else None,
        beyond_target=beyond_target,
    )
    return run_planned(
        planned, decide_mode(execution_mode), instance=instance, log_level=log_level, on_stage=on_stage
    )


def decide_mode(requested: RequestedMode) -> ModeChoice:
    """The mode a run in this process gets: as asked, or for "auto" from the configured generator (a
    remote agent or CrossHair) and the cores this process may use (`run_mode`)."""
    return choose_mode(
        requested,
        remote_generator=generator_is_remote(),
        cores=usable_cores(),
        executor=EXECUTOR_PROFILE.kind,
    )


def run_planned(
    planned: PlannedRun,
    mode: ModeChoice,
    *,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
    on_stage: OnStage | None = None,
) -> WorkflowResult:
    """Run a spec that `run_plan` already checked: the command line checks every spec, then runs each."""
    if mode.mode == "async":
        start_step_workers_early()  # its imports overlap with setting the run up below
    root, slug = planned.project_root, planned.spec.slug
    instance = instance or persistent_instance(root)
    register_partitions(instance, [slug])
    ensure_pool_limits(instance, [GENERATOR_POOL])
    run_config: dict[str, Any] = {
        "resources": {"project": {"config": {"root": str(root)}}},
        "loggers": {"console": {"config": {"log_level": log_level}}},
        "execution": execution_config(mode.mode, EXECUTOR_PROFILE),
    }
    invocation = uuid.uuid4().hex
    job = JOB_FOR_STAGE[planned.stage]
    with _StageWatcher(instance, invocation, RunReader(slug, JOB_STAGES[job]), on_stage):
        result = dg.execute_job(
            dg.build_reconstructable_job(__name__, job_by_name.__name__, reconstructable_args=(job,)),
            instance=instance,
            run_config=run_config,
            tags={"dagster/partition": slug, INVOCATION_TAG: invocation, **mode.tags()},
        )
    free_slots_of_ended_run(instance, result.run_id)
    return _read_outcome(instance, result.run_id, planned, mode)


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


def persistent_instance(project_root: Path) -> dg.DagsterInstance:
    """`$DAGSTER_HOME` if set, else a home in the project's work folder: runs stay visible in the UI.

    A home spec2prod creates gets a `dagster.yaml` with telemetry off (no banner, nothing sent); one that
    is already there is the user's and stays as it is.
    """
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    home = WorkFolder.inside(project_root).dagster_home
    home.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError), (home / "dagster.yaml").open("x", encoding="utf-8") as config:
        config.write(QUIET_INSTANCE_CONFIG)
    return dg.DagsterInstance.from_config(str(home))


class _StageWatcher:
    """Follows a run's event log from a thread while `execute_job` runs, and hands each ended stage to
    `on_stage`. A poll that fails (the database busy) is retried on the next tick: progress is a view,
    the outcome is read again from the instance once the run is over."""

    def __init__(
        self, instance: dg.DagsterInstance, invocation: str, reader: RunReader, on_stage: OnStage | None
    ) -> None:
        self._instance, self._invocation, self._on_stage = instance, invocation, on_stage
        self._reader = reader
        self._run_id: str | None = None
        self._cursor: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="spec2prod-progress", daemon=True)

    def __enter__(self) -> _StageWatcher:
        if self._on_stage is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._on_stage is None:
            return
        self._stop.set()
        self._thread.join()
        if exc[0] is None:
            self._poll()  # what ended between the last tick and the end of the run

    def _follow(self) -> None:
        while not self._stop.wait(0.5):
            with contextlib.suppress(Exception):
                self._poll()

    def _poll(self) -> None:
        if self._run_id is None:
            runs = self._instance.get_runs(dg.RunsFilter(tags={INVOCATION_TAG: self._invocation}), limit=1)
            if not runs:
                return
            self._run_id = runs[0].run_id
        connection = self._instance.get_records_for_run(self._run_id, cursor=self._cursor, of_type=FOLLOWED)
        self._cursor = connection.cursor
        for record in connection.records:
            for ended in self._reader.see(record.event_log_entry):
                if self._on_stage is not None:
                    self._on_stage(ended)


def _read_outcome(
    instance: dg.DagsterInstance, run_id: str, planned: PlannedRun, mode: ModeChoice
) -> WorkflowResult:
    from spec2prod_assets.definitions import defs

    run = instance.get_run_by_id(run_id)
    assert run is not None, f"run {run_id} vanished from the instance"
    slug = planned.spec.slug
    selected = JOB_STAGES[JOB_FOR_STAGE[planned.stage]]
    records = stage_records(instance, run_id, selected=selected)  # read once: outcomes and timings
    outcomes = outcomes_in_words(records)
    materialized = materialization_metadata(instance, run_id)
    stages: dict[str, StageResult] = {}
    for name in selected:
        step = outcomes.get(name, NOT_STARTED)
        stages[name] = StageResult(
            stage=name,
            status=step.status,
            duration_s=step.duration_s,
            metadata={key: _plain(value) for key, value in materialized.get(name, {}).items()},
        )
    timings = summarize(
        run_id,
        ended_stages(records, exclude=[WORKFLOW_REPORT]),
        upstream=upstream_steps(defs.resolve_all_asset_specs()),
        execution_mode=mode.mode,
    )
    success = run.status == dg.DagsterRunStatus.SUCCESS
    failures = [] if success else run_failures(instance, run_id, slug)
    report_path = materialized.get(WORKFLOW_REPORT, {}).get("report")
    if report_path is None:
        # The report step did not run (an earlier stage failed): the report is still written, with why.
        report_path = write_json_report(
            timings,
            {
                "partition": slug,
                "job": run.job_name,
                "status": run.status.value,
                "execution_mode_reason": mode.reason,
                "failures": [failure.as_json() for failure in failures],
            },
            ProjectResource(root=str(planned.project_root)).report_path(slug, run_id),
        )
    junit = materialized.get(RELEASE_CANDIDATE, {}).get("junit_xml")
    return WorkflowResult(
        success=success,
        run_id=run_id,
        component=slug,
        spec_path=planned.spec.spec_path,
        target_stage=planned.stage,
        execution_mode=mode.mode,
        execution_mode_reason=mode.reason,
        stages_completed=tuple(n for n, s in stages.items() if s.status == "succeeded"),
        stages_failed=tuple(n for n, s in stages.items() if s.status == "failed"),
        stages=stages,
        failures=tuple(failures),
        timings=timings,
        report_path=str(report_path),
        junit_xml=str(junit) if junit else None,
    )


def _plain(value: object) -> object:
    """A metadata value as data: a table becomes its rows (as `--json` and the Python API show it)."""
    if isinstance(value, dg.TableMetadataValue):
        return [dict(record.data) for record in value.records]
    return value


def job_by_name(name: str) -> dg.JobDefinition:
    """Loads a job in any process: the multiprocess executor's workers rebuild it through this."""
    from spec2prod_assets.definitions import defs

    return defs.resolve_job_def(name)
