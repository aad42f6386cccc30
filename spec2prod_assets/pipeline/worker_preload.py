"""What every step worker of a multiprocess run needs, loaded once by the executor's forkserver.

The forkserver imports this before forking a worker per step, so a worker starts with the code location
imported, its jobs built and the instance's storage code loaded; without it each worker spent about 2.5 s
importing some 1,000 modules and rebuilding the job before running a line of the step, with it 0.3-0.5 s
(docs/performance.md). Only `jobs.PRELOADED_MODULES` names this module; nothing else imports it.
"""

import tempfile
from pathlib import Path

import dagster as dg

from spec2prod_assets.definitions import defs
from spec2prod_assets.pipeline.jobs import ALL_JOBS

for _job in ALL_JOBS:
    defs.resolve_job_def(_job.name)

# Opening a throwaway SQLite instance imports what opening the run's instance needs (SQLAlchemy, Alembic
# and Dagster's storage modules); nothing of it stays open in the forkserver its workers are forked from.
with tempfile.TemporaryDirectory(prefix="spec2prod-preload-") as _home:
    # A config file, so Dagster neither prints its "no dagster.yaml" notice nor turns telemetry on.
    (Path(_home) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    dg.DagsterInstance.from_config(_home).dispose()
