"""The three jobs people launch, one per target stage; each ends with the workflow report.

"async" mode (the default) runs independent stages at the same time in separate processes;
`execution: {config: {in_process: {}}}` in the run config gives "sync" mode, one step after another.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from typing import Any

import dagster as dg

from spec2prod_assets.pipeline.stages import (
    BASELINE_TESTS,
    GENERATED_TESTS,
    PRODUCTION_DEPLOYMENT,
    REFACTORED_CODE,
    RELEASE_CANDIDATE,
    SPEC,
    STAGING_DEPLOYMENT,
    WORKFLOW_REPORT,
)
from spec2prod_assets.spec.model import Stage

MAX_CONCURRENT_STEPS = 2
# The forkserver imports this once, so each step's worker starts with the code location, its jobs and the
# instance's storage loaded instead of importing about 1,000 modules itself: a step's launch went from
# about 2.5 s to 0.3-0.5 s (docs/performance.md).
PRELOADED_MODULES = ["spec2prod_assets.pipeline.worker_preload"]
ASYNC_EXECUTION: dict[str, Any] = {
    "config": {
        "multiprocess": {
            "max_concurrent": MAX_CONCURRENT_STEPS,
            "start_method": {"forkserver": {"preload_modules": PRELOADED_MODULES}},
        }
    }
}
SYNC_EXECUTION: dict[str, Any] = {"config": {"in_process": {}}}

SPEC_TO_DEV = "spec_to_dev"
SPEC_TO_STAGING = "spec_to_staging"
SPEC_TO_PRODUCTION = "spec_to_production"

# In pipeline order, which is also the order `run_workflow` reports the stages in.
DEV_STAGES = (SPEC, BASELINE_TESTS, GENERATED_TESTS, REFACTORED_CODE, RELEASE_CANDIDATE)
STAGING_STAGES = (*DEV_STAGES, STAGING_DEPLOYMENT)
PRODUCTION_STAGES = (*STAGING_STAGES, PRODUCTION_DEPLOYMENT)
JOB_STAGES: dict[str, tuple[str, ...]] = {
    SPEC_TO_DEV: (*DEV_STAGES, WORKFLOW_REPORT),
    SPEC_TO_STAGING: (*STAGING_STAGES, WORKFLOW_REPORT),
    SPEC_TO_PRODUCTION: (*PRODUCTION_STAGES, WORKFLOW_REPORT),
}
JOB_FOR_STAGE = {Stage.DEV: SPEC_TO_DEV, Stage.STAGING: SPEC_TO_STAGING, Stage.PRODUCTION: SPEC_TO_PRODUCTION}
STAGE_FOR_JOB = {job: stage for stage, job in JOB_FOR_STAGE.items()}


def capped_stage(stage: Stage, cap: Stage) -> Stage:
    """The nearer of the two stages: a cap may stop a spec short of its target, never take it further."""
    order = list(Stage)  # declared in promotion order: dev, staging, production
    return min(stage, cap, key=order.index)


def _job(name: str, description: str) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name=name,
        selection=dg.AssetSelection.assets(*JOB_STAGES[name]),
        config={"execution": ASYNC_EXECUTION},
        description=description,
    )


spec_to_dev = _job(SPEC_TO_DEV, "Spec to a tested, refactored release candidate.")
spec_to_staging = _job(SPEC_TO_STAGING, "Spec to a healthy staging deployment.")
spec_to_production = _job(
    SPEC_TO_PRODUCTION, "Spec to production: the release that passed staging, promoted."
)
ALL_JOBS = [spec_to_dev, spec_to_staging, spec_to_production]


def start_step_workers_early() -> None:
    """Start the forkserver that async steps are forked from now, with the preload Dagster would give it.

    The forkserver is started by the first step otherwise, which then waits for it to import the code
    location (about 2 s). Started here, it imports in the background while this process sets the run up,
    and Dagster, finding it running, uses it as it is. One per process: later runs reuse it.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED_MODULES)
    forkserver.ensure_running()  # returns once the server process exists; its imports go on without us
