"""A run's events read back as stages: which stage ended, how, and why one failed.

Fed live (the console's progress lines while a run goes on) or all at once (the outcome after it): the
same reading either way. A step may run several stages (`stages.STEP_ASSETS`), so a stage ends when the
next one of its step materializes or the step ends, and a failed step is put on the stage that failed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import dagster as dg

from spec2prod_assets.pipeline.jobs import JOB_STAGES
from spec2prod_assets.pipeline.stages import STEP_ASSETS
from spec2prod_assets.report.run_result import StageFailure, StageFinished, StageStatus

# The error classes Dagster wraps a step's own exception in; the one-line reason is the exception inside.
_WRAPPERS = ("DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError")
# How Dagster's Celery executor reports a step whose worker failed outside the step (a killed worker
# process): `[generated_tests]: billiard.exceptions.WorkerLostError: Worker exited prematurely: ...`.
_WORKER_ERROR = re.compile(r"^\[([\w.]+)\]: (?:[\w.]+\.)?(\w+): (.*)$", re.MULTILINE)
FOLLOWED = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.RUN_FAILURE,
}


class RunReader:
    """Turns a run's events, in order, into stage endings and failure reasons; fed live or all at once.

    A step may run several stages (`stages.STEP_ASSETS`): a stage has ended when the next one of its step
    materializes or the step ends. When a step fails, the stage that failed is the one whose blocking check
    failed, else the first stage of the step the run selected that did not materialize.
    """

    def __init__(self, component: str, stages: Sequence[str]) -> None:
        self.component = component
        self.failures: list[StageFailure] = []
        self._selected = tuple(stages)
        self._cursor: dict[str, float] = {}  # per step: when its current stage began
        self._pending: dict[str, StageFinished] = {}  # per step: the stage that materialized last
        self._announced: set[str] = set()
        self._stages_with_failed_checks: set[str] = set()

    def see(self, entry: dg.EventLogEntry) -> list[StageFinished]:
        event = entry.dagster_event
        if event is None:
            return []
        kind, step = event.event_type, event.step_key or ""
        if kind == dg.DagsterEventType.STEP_START:
            self._cursor[step] = entry.timestamp
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION and entry.asset_materialization is not None:
            ended = self._flush(step)
            stage = entry.asset_materialization.asset_key.to_user_string()
            started = self._cursor.get(step, entry.timestamp)
            self._pending[step] = self._finished(stage, "succeeded", entry.timestamp - started)
            self._cursor[step] = entry.timestamp
            return ended
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed:
                stage = evaluation.asset_key.to_user_string()
                failure = StageFailure(
                    stage=stage,
                    check=evaluation.check_name,
                    message=_first_line(evaluation.description or "failed"),
                )
                self._stages_with_failed_checks.add(stage)
                self.failures.append(failure)
        elif kind == dg.DagsterEventType.RUN_FAILURE:
            if not self.failures:  # a run that failed outside any step: say so rather than nothing
                self.failures += self._run_failed(event)
        elif kind == dg.DagsterEventType.STEP_SUCCESS:
            return self._flush(step)
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            ended = self._flush(step)
            blamed = self._blamed_stage(step)
            if blamed is not None:
                self._step_failed(step, blamed, event)
                started = self._cursor.get(step, entry.timestamp)
                ended.append(self._finished(blamed, "failed", entry.timestamp - started))
                self._announced.add(blamed)
            return ended
        return []

    def _flush(self, step: str) -> list[StageFinished]:
        """Announce the step's last materialized stage: it has ended (failed, if one of its checks did)."""
        pending = self._pending.pop(step, None)
        if pending is None:
            return []
        self._announced.add(pending.stage)
        if pending.stage in self._stages_with_failed_checks:
            pending = self._finished(pending.stage, "failed", pending.duration_s)
        return [pending]

    def _blamed_stage(self, step: str) -> str | None:
        """The stage a failed step failed in; None when a failed check already names it."""
        stages = [s for s in STEP_ASSETS.get(step, (step,)) if s in self._selected or step not in STEP_ASSETS]
        if any(s in self._stages_with_failed_checks for s in stages):
            return None
        return next((s for s in stages if s not in self._announced), None)

    def _run_failed(self, event: dg.DagsterEvent) -> list[StageFailure]:
        """Why a run failed with no step failure: a step whose worker died (the executor lists each such
        step as `[step]: Error: text`), else the run's own error, else Dagster's message."""
        data = event.event_specific_data
        error = getattr(data, "error", None)
        if error is None:
            return [StageFailure(stage="run", error="RunFailure", message=_first_line(event.message or ""))]
        failures = []
        for step, cls_name, text in _WORKER_ERROR.findall(error.message):
            stage = self._blamed_stage(step) or step
            self._announced.add(stage)
            failures.append(StageFailure(stage=stage, error=cls_name, message=text.strip()))
        if failures:
            return failures
        return [
            StageFailure(
                stage="run",
                error=error.cls_name or "RunFailure",
                message=_first_line(_exception_text(error.message, error.cls_name)),
            )
        ]

    def _finished(self, stage: str, status: StageStatus, duration_s: float) -> StageFinished:
        return StageFinished(
            component=self.component,
            stage=stage,
            status=status,
            duration_s=round(duration_s, 3),
            failures=tuple(f for f in self.failures if f.stage == stage),
        )

    def _step_failed(self, step: str, stage: str, event: dg.DagsterEvent) -> None:
        """The step's own reason, put on the stage it failed in."""
        data = event.step_failure_data
        error = data.error if data is not None else None
        if error is None:
            self.failures.append(
                StageFailure(stage=stage, error="StepFailure", message=_first_line(event.message or ""))
            )
            return
        while error.cause is not None and error.cls_name in _WRAPPERS:
            error = error.cause
        user = data.user_failure_data if data is not None else None
        message = (
            user.description
            if user is not None and user.description
            else _exception_text(error.message, error.cls_name)
        )
        self.failures.append(
            StageFailure(stage=stage, error=error.cls_name or "Error", message=_first_line(message))
        )


def _exception_text(formatted: str, cls_name: str | None) -> str:
    """`pkg.module.Error: text` (as a traceback ends) without its class prefix."""
    head, _, rest = formatted.partition(": ")
    return rest if cls_name and head.endswith(cls_name) else formatted


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "(no message)")


def run_failures(instance: dg.DagsterInstance, run_id: str, component: str) -> list[StageFailure]:
    """Why the run failed, stage by stage, from its events; empty for a run that went through."""
    run = instance.get_run_by_id(run_id)
    reader = RunReader(component, JOB_STAGES.get(run.job_name, ()) if run else ())
    for record in instance.get_records_for_run(run_id, of_type=FOLLOWED).records:
        reader.see(record.event_log_entry)
    return reader.failures
