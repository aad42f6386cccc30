"""What the async executor's forkserver imports before it forks step workers: it must import cleanly in a
fresh interpreter and print nothing (a notice there reaches every console that runs async)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from spec2prod_assets.pipeline.executors import ASYNC_EXECUTION, PRELOADED_MODULES


def test_the_async_executor_preloads_the_worker_module() -> None:
    forkserver = ASYNC_EXECUTION["config"]["multiprocess"]["start_method"]["forkserver"]
    assert forkserver["preload_modules"] == PRELOADED_MODULES == ["spec2prod_assets.pipeline.worker_preload"]


def test_the_preload_imports_in_a_fresh_interpreter_silently_and_loads_the_storage(tmp_path: Path) -> None:
    probe = (
        "import sys; import spec2prod_assets.pipeline.worker_preload; "
        "print('sqlalchemy.dialects.sqlite' in sys.modules, 'spec2prod_assets.definitions' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["True", "True"]
    assert completed.stderr == ""
