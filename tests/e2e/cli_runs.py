"""The command line the way CI drives it: a fresh persistent $DAGSTER_HOME with telemetry off, a copy of
the example, its partitions registered, then one real command, bounded in time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from resources.project import DEPLOY_ROOT_ENV, PROJECT_ROOT_ENV, WORK_DIR_ENV
from tests.conftest import copy_demo

BIN = Path(sys.executable).parent
TIMEOUT_S = 600
QUIET_INSTANCE = "telemetry:\n  enabled: false\n"


def run_cli(args: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `args[0]` from this virtualenv; a non-zero exit fails with the tail of what it printed."""
    completed = subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert completed.returncode == 0, (
        f"{' '.join(args[:3])} failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
    )
    return completed


def registered_project(base: Path) -> tuple[Path, Path, dict[str, str]]:
    """A copy of the example whose specs are registered on a fresh instance: (DAGSTER_HOME, project, env).

    The caller's work and deploy folders are dropped from the environment: everything goes into the copy.
    """
    project = copy_demo(base / "demo")
    home = base / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(QUIET_INSTANCE, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in (WORK_DIR_ENV, DEPLOY_ROOT_ENV)}
    env |= {"DAGSTER_HOME": str(home), PROJECT_ROOT_ENV: str(project)}
    specs = [str(path) for path in sorted((project / "specs").glob("*.md"))]
    run_cli(["spec2prod", "register", *specs], cwd=base, env=env)
    return home, project, env
