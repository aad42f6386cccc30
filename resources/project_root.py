"""Which project spec2prod works on when nobody says: the one you stand in, as for git.

`$SPEC2PROD_PROJECT_ROOT`, else the nearest folder, the current one or above, that holds `specs/`. Never
a fallback to the bundled example: a `rollback` typed in your project must not act on someone else's,
and after a normal install that example lives inside site-packages. No Dagster here: the CLI resolves the
project before deciding whether Dagster is needed at all.
"""

from pathlib import Path

from resources.env_vars import EnvVarError, env_setting
from spec2prod_assets.spec.catalog import project_root_of

PROJECT_ROOT_ENV = "SPEC2PROD_PROJECT_ROOT"


class ProjectRootError(ValueError):
    """No project to work on: nothing configured and no `specs/` folder here or above; one line."""


def default_project_root() -> str:
    """`$SPEC2PROD_PROJECT_ROOT` (an existing folder), else the project of the current folder.

    Raises `EnvVarError` for a variable naming no folder and `ProjectRootError` when there is no project.
    """
    configured = env_setting(PROJECT_ROOT_ENV)
    if configured:
        if not Path(configured).is_dir():
            raise EnvVarError.malformed(PROJECT_ROOT_ENV, configured, "an existing folder (the project root)")
        return str(Path(configured).resolve())
    here = Path.cwd()
    found = project_root_of(here)
    if found is None:
        raise ProjectRootError(
            f"No project: {here} and the folders above it hold no specs/ folder; run from inside "
            f"your project or set {PROJECT_ROOT_ENV}=/path/to/project"
        )
    return str(found)
