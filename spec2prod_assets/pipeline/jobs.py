"""The three jobs people launch, one per target stage; each ends with the workflow report.

"async" mode (the default) runs independent stages at the same time in separate processes;
`execution: {config: {in_process: {}}}` in the run config gives "sync" mode, one step after another.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

MAX_CONCURRENT_STEPS = 2
ASYNC_EXECUTION: dict[str, Any] = {
    "config": {"multiprocess": {"max_concurrent": MAX_CONCURRENT_STEPS, "start_method": {"forkserver": {}}}}
}
SYNC_EXECUTION: dict[str, Any] = {"config": {"in_process": {}}}

DEV_STAGES = ["spec", "baseline_tests", "generated_tests", "refactored_code", "release_candidate"]
STAGING_STAGES = [*DEV_STAGES, "staging_deployment"]
PRODUCTION_STAGES = [*STAGING_STAGES, "production_deployment"]
REPORT = "workflow_report"


def _job(name: str, stages: list[str], description: str) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name=name,
        selection=dg.AssetSelection.assets(*stages, REPORT),
        config={"execution": ASYNC_EXECUTION},
        description=description,
    )


spec_to_dev = _job("spec_to_dev", DEV_STAGES, "Spec to a tested, refactored release candidate.")
spec_to_staging = _job("spec_to_staging", STAGING_STAGES, "Spec to a healthy staging deployment.")
spec_to_production = _job(
    "spec_to_production", PRODUCTION_STAGES, "Spec to production: the release that passed staging, promoted."
)
ALL_JOBS = [spec_to_dev, spec_to_staging, spec_to_production]
