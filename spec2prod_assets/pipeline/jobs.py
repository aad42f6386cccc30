"""The three jobs people launch, one per target stage; each ends with the workflow report.

Their executor is the deployment profile's (`executors`): on the local profile "async" (the jobs' default
run config) runs independent stages at the same time in separate processes, and
`execution: {config: {in_process: {}}}` gives "sync", one step after another.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver

import dagster as dg

from spec2prod_assets.pipeline.executors import PRELOADED_MODULES, ExecutorProfile, executor_profile_from_env
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


_DESCRIPTIONS = {
    SPEC_TO_DEV: "Spec to a tested, refactored release candidate.",
    SPEC_TO_STAGING: "Spec to a healthy staging deployment.",
    SPEC_TO_PRODUCTION: "Spec to production: the release that passed staging, promoted.",
}


def build_jobs(profile: ExecutorProfile) -> list[dg.UnresolvedAssetJobDefinition]:
    """The three jobs on one profile's executor, in pipeline order."""
    return [
        dg.define_asset_job(
            name=name,
            selection=dg.AssetSelection.assets(*JOB_STAGES[name]),
            config={"execution": profile.default_execution} if profile.default_execution else None,
            executor_def=profile.executor_def,
            description=description,
        )
        for name, description in _DESCRIPTIONS.items()
    ]


# Read when the code location loads: every process that loads it (webserver, daemon, run and step
# workers) must see the same $SPEC2PROD_EXECUTOR.
EXECUTOR_PROFILE = executor_profile_from_env()
ALL_JOBS = build_jobs(EXECUTOR_PROFILE)
spec_to_dev, spec_to_staging, spec_to_production = ALL_JOBS


def start_step_workers_early() -> None:
    """Start the forkserver that async steps are forked from now, with the preload Dagster would give it.

    The forkserver is started by the first step otherwise, which then waits for it to import the code
    location (about 2 s). Started here, it imports in the background while this process sets the run up,
    and Dagster, finding it running, uses it as it is. One per process: later runs reuse it.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED_MODULES)
    forkserver.ensure_running()  # returns once the server process exists; its imports go on without us
