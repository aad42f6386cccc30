"""Materialize pipeline stages by name, in process. Several stages share one step (`stages.STEP_ASSETS`),
so a test names the stages it wants and Dagster gets every step with that selection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from resources.artifact_io import ArtifactIOManager
from resources.deployers import LocalDeployerResource
from resources.generators import CrossHairGeneratorResource
from resources.project import ProjectResource
from spec2prod_assets.pipeline.assets import generated_tests, refactored_code, spec_and_baseline
from spec2prod_assets.pipeline.delivery import release_and_deploy

PIPELINE_STEPS = [spec_and_baseline, generated_tests, refactored_code, release_and_deploy]


def materialize_stages(
    stages: Iterable[str],
    *,
    project: ProjectResource,
    partition: str,
    instance: dg.DagsterInstance,
    resources: Mapping[str, Any] | None = None,
    run_config: Mapping[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    """The named stages for one partition; the other resources default to the local ones, which a stage
    not selected never calls."""
    return dg.materialize(
        PIPELINE_STEPS,
        selection=list(stages),
        partition_key=partition,
        instance=instance,
        resources={
            "project": project,
            "io_manager": ArtifactIOManager(project=project),
            "deployer": LocalDeployerResource(project=project),
            "test_generator": CrossHairGeneratorResource(),
            **(resources or {}),
        },
        run_config=run_config,
        raise_on_error=False,
    )
