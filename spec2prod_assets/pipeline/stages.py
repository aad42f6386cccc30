"""The pipeline's stage names, defined once: each is an asset key, the step key in a run's events, and
the stage's folder in the run's work dir, so assets, checks, jobs and the run report cannot drift apart.

An asset's name is also its function's name in `assets.py` (Dagster wires inputs by parameter name);
`tests/test_definitions.py` holds the two together.
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
