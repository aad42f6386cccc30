"""The Dagster code location: `dagster dev`, `dagster job execute` and the sensor all load this."""

import dagster as dg

from resources.artifact_io import ArtifactIOManager
from resources.crosshair_generator import CrossHairGeneratorResource
from resources.deployers import LocalDeployerResource
from resources.project import ProjectResource
from spec2prod_assets import assets
from spec2prod_assets.jobs import ALL_JOBS

project = ProjectResource()

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
    jobs=ALL_JOBS,
    resources={
        "project": project,
        "io_manager": ArtifactIOManager(project=project),
        "test_generator": CrossHairGeneratorResource(),
        "deployer": LocalDeployerResource(project=project),
    },
)
