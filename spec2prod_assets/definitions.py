"""The Dagster code location: `dg dev`, `dg launch`, `dagster job execute` and the sensor all load this.

Settings from the environment (sensor, deployer, test generator) are read here, when the location loads:
a malformed one stops the load with `EnvVarError`'s one line naming the variable, while commands that
never load the location (`spec2prod validate`, `releases`, `--help`) are not affected.
"""

import dagster as dg

from resources.artifact_io import ArtifactIOManager
from resources.deployers import deployer_from_env
from resources.generators import crosshair_from_env, openhands_from_env
from resources.project import ProjectResource
from sensors import spec_sensor_from_env
from sensors.history_sensor import history_sensor
from spec2prod_assets.pipeline import assets, delivery
from spec2prod_assets.pipeline.history import performance_history, performance_history_job
from spec2prod_assets.pipeline.jobs import ALL_JOBS

# Configurable per run (run_workflow passes the project root); unset: $SPEC2PROD_PROJECT_ROOT, else the
# project of the current folder (the nearest one holding specs/), else a `ProjectRootError` naming both.
project = ProjectResource.configure_at_launch()

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([assets, delivery]), performance_history],
    jobs=[*ALL_JOBS, performance_history_job],
    # Each spec runs the job of its own target_stage; $SPEC2PROD_SENSOR_JOB can only lower it.
    # The history sensor refreshes performance_history after each workflow run ends.
    sensors=[spec_sensor_from_env(), history_sensor],
    resources={
        "project": project,
        "io_manager": ArtifactIOManager(project=project),
        # OpenHands when OPENHANDS_URL is set; otherwise the built-in generator, which needs no service.
        "test_generator": openhands_from_env() or crosshair_from_env(),
        # The local release folders unless SPEC2PROD_DEPLOYER=command (docs/deployers.md).
        "deployer": deployer_from_env(project),
    },
)
