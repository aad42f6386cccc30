"""The Dagster code location: `dagster dev`, `dagster job execute` and the sensor all load this."""

import dagster as dg

from resources.artifact_io import ArtifactIOManager
from resources.deployers import deployer_from_env
from resources.generators import CrossHairGeneratorResource, openhands_from_env
from resources.project import ProjectResource
from sensors import spec_sensor
from spec2prod_assets.pipeline import assets
from spec2prod_assets.pipeline.jobs import ALL_JOBS

# Configurable per run (run_workflow passes the project root), defaulting to $SPEC2PROD_PROJECT_ROOT.
project = ProjectResource.configure_at_launch()

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    jobs=ALL_JOBS,
    sensors=[spec_sensor],
    resources={
        "project": project,
        "io_manager": ArtifactIOManager(project=project),
        # OpenHands when OPENHANDS_URL is set; otherwise the built-in generator, which needs no service.
        "test_generator": openhands_from_env() or CrossHairGeneratorResource(),
        # The local release folders unless SPEC2PROD_DEPLOYER=command (docs/deployers.md).
        "deployer": deployer_from_env(project),
    },
)
