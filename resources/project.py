"""Where the project spec2prod works on lives, and where its per-run work goes."""

import os
from pathlib import Path

import dagster as dg
from pydantic import Field

from resources.project_root import PROJECT_ROOT_ENV, ProjectRootError, default_project_root
from spec2prod_assets.storage.work_folder import WORK_FOLDER_NAME, WorkFolder

__all__ = ["PROJECT_ROOT_ENV", "ProjectResource", "ProjectRootError", "default_project_root"]

WORK_DIR_ENV = "SPEC2PROD_WORK_DIR"
DEPLOY_ROOT_ENV = "SPEC2PROD_DEPLOY_ROOT"
# The example in a checkout, for tests and `make run`/`make dev`; never a default.
BUNDLED_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "demo"


class ProjectResource(dg.ConfigurableResource):
    """The project whose specs are taken to production, and the work folder where runs write.

    The work folder holds copies, reports and bundles; the project's own files are only read.
    """

    root: str | None = Field(
        default=None,
        description=(
            f"Project root (specs/, src/, tests/); unset: ${PROJECT_ROOT_ENV}, else the nearest folder "
            "holding specs/, from the current one up."
        ),
    )
    work_dir: str | None = Field(
        default_factory=lambda: os.environ.get(WORK_DIR_ENV),
        description=f"Where runs write artifacts; ${WORK_DIR_ENV}, else <root>/{WORK_FOLDER_NAME}.",
    )
    test_timeout_s: float = Field(default=600.0, description="Timeout for one pytest run, in seconds.")

    @property
    def root_path(self) -> Path:
        """The configured root, else the default one; found when first needed, not when the resource is
        made, so a sensor tick can report a missing project in one line instead of a traceback."""
        return Path(self.root or default_project_root()).resolve()

    @property
    def work_folder(self) -> WorkFolder:
        if self.work_dir:
            return WorkFolder(Path(self.work_dir).resolve())
        return WorkFolder.inside(self.root_path)

    @property
    def work_path(self) -> Path:
        return self.work_folder.path

    @property
    def deploy_path(self) -> Path:
        """Where the local deployer keeps environments: $SPEC2PROD_DEPLOY_ROOT, else `<work>/deploy`."""
        configured = os.environ.get(DEPLOY_ROOT_ENV)
        return Path(configured).resolve() if configured else self.work_folder.deploy

    def report_path(self, slug: str, run_id: str) -> Path:
        """Where a run's workflow report goes; written by the report asset, or by `run_workflow`
        when an earlier stage failed and the asset never ran."""
        return self.work_folder.report(slug, run_id)

    def stage_dir(self, slug: str, run_id: str, stage: str) -> Path:
        """A fresh folder for one stage of one run: `<work>/<slug>/runs/<run id>/<stage>`."""
        return self.work_folder.new_stage_dir(slug, run_id, stage)
