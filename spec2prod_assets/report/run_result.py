"""What a run did, as plain values: the Python API returns them, the console prints them, `--json` dumps them.

Kept apart from the code that reads them off the Dagster instance (`workflow.py`), so the command line can
print a result without importing Dagster, and a test can build one by hand.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from spec2prod_assets.report.timings import ExecutionMode, TimingSummary
from spec2prod_assets.spec.model import Stage

StageStatus = Literal["succeeded", "failed", "skipped", "running", "unknown"]


class StageFailure(BaseModel):
    """Why a stage failed, in one line: a failed check's own description, or a step error's message.

    Exactly one of `check` (the check's name) and `error` (the exception's class name) is set.
    """

    model_config = ConfigDict(frozen=True)

    stage: str
    check: str | None = None
    error: str | None = None
    message: str

    def line(self) -> str:
        """`coverage_meets_threshold: line coverage 44.00% is below the spec's 80%`."""
        return f"{self.check or self.error}: {self.message}"

    def as_json(self) -> dict[str, str]:
        """`{stage, check, message}` or `{stage, error, message}`: no null for the kind that is not it."""
        return self.model_dump(exclude_none=True)


class StageFinished(BaseModel):
    """One stage of a run that has just ended: what the console prints while the run goes on."""

    model_config = ConfigDict(frozen=True)

    component: str
    stage: str
    status: StageStatus
    duration_s: float
    failures: tuple[StageFailure, ...] = ()


class StageResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str
    status: str
    duration_s: float
    metadata: dict[str, Any]


class WorkflowResult(BaseModel):
    """What a run did: which stages completed or failed and why, their metadata and timings, the report."""

    model_config = ConfigDict(frozen=True)

    success: bool
    run_id: str
    component: str
    spec_path: str = ""
    target_stage: Stage
    execution_mode: ExecutionMode
    execution_mode_reason: str = ""
    stages_completed: tuple[str, ...]
    stages_failed: tuple[str, ...]
    stages: dict[str, StageResult]
    failures: tuple[StageFailure, ...] = ()
    timings: TimingSummary
    report_path: str
    junit_xml: str | None = Field(
        default=None, description="The release candidate's JUnit XML, when that stage wrote one."
    )

    def as_json(self) -> dict[str, Any]:
        """The result as `--json` prints it: failures without nulls, stage metadata as plain values."""
        payload = self.model_dump(mode="json")
        payload["failures"] = [failure.as_json() for failure in self.failures]
        return payload
