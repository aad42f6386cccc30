"""Where the project spec2prod works on lives, and where its per-run work and asset values go."""

import os
from pathlib import Path

import dagster as dg
import fsspec
from pydantic import Field
from upath import UPath

from resources.env_vars import EnvVarError, env_setting
from resources.project_root import PROJECT_ROOT_ENV, ProjectRootError, default_project_root
from spec2prod_assets.storage.work_folder import WORK_FOLDER_NAME, WorkFolder

__all__ = ["PROJECT_ROOT_ENV", "ProjectResource", "ProjectRootError", "default_project_root"]

WORK_DIR_ENV = "SPEC2PROD_WORK_DIR"
DEPLOY_ROOT_ENV = "SPEC2PROD_DEPLOY_ROOT"
VALUES_URL_ENV = "SPEC2PROD_VALUES_URL"
_LOCAL_PROTOCOLS = ("", "file", "local")
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
    values_url: str | None = Field(
        default=None,
        description=(
            f"Where asset values are stored: a folder or any fsspec URL (s3://bucket/spec2prod); unset: "
            f"${VALUES_URL_ENV}, else the work folder."
        ),
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
    def values_folder(self) -> Path | UPath:
        """The base of the asset values (`<base>/<partition>/assets/<asset>.json`): a local `Path` when
        it is a folder, so writes stay atomic; a `UPath` for an object store or other fsspec file system.
        Read when first needed: a malformed $SPEC2PROD_VALUES_URL fails the step that stores a value with
        `EnvVarError`'s one line."""
        if self.values_url:
            try:
                return _values_base(self.values_url)
            except ValueError as exc:
                raise ValueError(f"values_url={self.values_url!r}: {exc}") from None
        configured = env_setting(VALUES_URL_ENV)
        if not configured:
            return self.work_path
        try:
            return _values_base(configured)
        except ValueError as exc:
            raise EnvVarError(VALUES_URL_ENV, f"{VALUES_URL_ENV}={configured!r}: {exc}") from None

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


def _values_base(raw: str) -> Path | UPath:
    """The folder or fsspec location `raw` names. An unknown protocol, or one whose package is not
    installed (s3:// without s3fs), is a `ValueError` saying what to write, in one line."""
    try:
        location = UPath(raw)
        if location.protocol not in _LOCAL_PROTOCOLS:
            fsspec.get_filesystem_class(location.protocol)
    except (ValueError, ImportError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"must be a folder or an fsspec URL of an installed file system ({reason})") from exc
    if location.protocol in _LOCAL_PROTOCOLS:
        return Path(location.path).resolve()
    return location
