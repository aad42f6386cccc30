"""A component whose tests try to escape the sandbox, for the must-show of issue 10.

Each escape test passes when its attempt FAILS (so a held sandbox gives a green, honest verdict), except
`test_the_real_failure`, which really fails: the run's true verdict is "1 failed". An at-exit hook tries to
rewrite the results (the coverage report to 100 %) and a detached child keeps running to try later.
`require_sandbox()` skips a test where bubblewrap is missing, or fails it when SPEC2PROD_SANDBOX_REQUIRED=1.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

COMPONENT = "escapee"
SPEC = f"""---
name: {COMPONENT}
version: 1.0.0
source_path: src/{COMPONENT}
tests_path: tests/{COMPONENT}
---
# {COMPONENT}

Adds numbers.

## Requirements
- FR-1: add two numbers

## Acceptance Criteria
- AC-1: add(2, 3) == 5
"""

_SOURCE = "def add(a, b):\n    return a + b\n"

_TESTS = """\
import atexit, json, os, socket, subprocess, sys
from pathlib import Path

import {component}

TARGETS = json.loads({targets!r})


def _attempt_write(path):
    try:
        Path(path).write_text("escaped")
    except OSError:
        return False
    return True


def test_cannot_write_into_the_project_source():
    assert not _attempt_write(TARGETS["project_file"])


def test_cannot_write_into_the_deploy_root():
    assert not _attempt_write(TARGETS["deploy_file"])


def test_cannot_read_home_and_writes_there_vanish():
    _attempt_write(TARGETS["home_file"])  # lands in the sandbox's own tmpfs at most; the parent checks
    try:
        Path(TARGETS["home_secret"]).read_text()
        read = True
    except OSError:
        read = False
    assert not read


def test_cannot_connect_to_a_listener_on_loopback():
    try:
        socket.create_connection(("127.0.0.1", TARGETS["port"]), timeout=2).close()
        connected = True
    except OSError:
        connected = False
    assert not connected


def test_leaves_a_detached_child_running():
    code = "import time\\nwhile True:\\n    time.sleep(0.2)\\n"
    subprocess.Popen([sys.executable, "-c", code, TARGETS["marker"]], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_the_real_failure():
    assert {component}.add(2, 2) == 5


def _rewrite_results():
    for folder, _, files in [*os.walk(TARGETS["work_dir"]), *os.walk("/tmp")]:
        if "coverage.json" in files:
            try:
                Path(folder, "coverage.json").write_text(json.dumps({{"totals": {{"percent_covered": 100}}}}))
            except OSError:
                pass


atexit.register(_rewrite_results)
"""


def write_escape_component(project: Path, *, targets: dict[str, object]) -> Path:
    """The spec, source and tests under `project`; `targets` (paths, port, marker) go into the tests."""
    import json

    (project / "specs").mkdir(parents=True)
    (project / "specs" / f"{COMPONENT}.md").write_text(SPEC)
    package = project / "src" / COMPONENT
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(_SOURCE)
    tests = project / "tests" / COMPONENT
    tests.mkdir(parents=True)
    (tests / f"test_{COMPONENT}.py").write_text(
        _TESTS.format(component=COMPONENT, targets=json.dumps(targets))
    )
    return project


def processes_with(marker: str) -> list[int]:
    """Host pids whose command line holds `marker` (the detached child's tag)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return [pid for pid in found if pid != os.getpid()]


def require_sandbox() -> None:
    """Skip without bubblewrap; with SPEC2PROD_SANDBOX_REQUIRED=1 (CI) a missing sandbox is a failure."""
    if shutil.which("bwrap"):
        return
    message = "bubblewrap (bwrap) is not installed: run `make system-deps` as root"
    if os.environ.get("SPEC2PROD_SANDBOX_REQUIRED") == "1":
        pytest.fail(message)
    pytest.skip(message)
