"""The pipeline's stage and step names, defined once: a stage is an asset key and the stage's folder in the
run's work dir; a step is what one process runs, one or more stages in a row. Assets, checks, jobs and the
run report read them here, so they cannot drift apart.

An asset's name is also its input parameter's name downstream (Dagster wires inputs by parameter name);
`tests/test_definitions.py` holds the names and Dagster's own graph together.
"""

from __future__ import annotations

SPEC = "spec"
BASELINE_TESTS = "baseline_tests"
GENERATED_TESTS = "generated_tests"
REFACTORED_CODE = "refactored_code"
RELEASE_CANDIDATE = "release_candidate"
STAGING_DEPLOYMENT = "staging_deployment"
PRODUCTION_DEPLOYMENT = "production_deployment"
WORKFLOW_REPORT = "workflow_report"

# Steps: what one process does in a run. A step boundary costs about 2 s under the multiprocess executor
# (docs/performance.md), so a boundary is kept only where it buys something: the refactor and the test
# generation each get their own, to run side by side; the parse and the baseline run back to back anyway,
# as do the release, its deployments and the report. Each asset still materializes on its own, with its
# own metadata and checks. Listed in pipeline order, each step's assets in the order it materializes them.
SPEC_AND_BASELINE = "spec_and_baseline"
RELEASE_AND_DEPLOY = "release_and_deploy"
STEP_ASSETS: dict[str, tuple[str, ...]] = {
    SPEC_AND_BASELINE: (SPEC, BASELINE_TESTS),
    GENERATED_TESTS: (GENERATED_TESTS,),
    REFACTORED_CODE: (REFACTORED_CODE,),
    RELEASE_AND_DEPLOY: (RELEASE_CANDIDATE, STAGING_DEPLOYMENT, PRODUCTION_DEPLOYMENT, WORKFLOW_REPORT),
}
STEP_OF_ASSET = {asset: step for step, assets in STEP_ASSETS.items() for asset in assets}
