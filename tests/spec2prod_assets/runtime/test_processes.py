"""The one place subprocesses start: timeouts kill the whole group, the environment is allow-listed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from spec2prod_assets.runtime.processes import (
    CommandError,
    clean_env,
    python_tool,
    run_command,
    run_command_async,
)

SECRET_NAME = "SPEC2PROD_TEST_OPENHANDS_API_KEY"
SECRET_VALUE = "sk-test-7f3a9c-do-not-leak"

# A parent that starts a long-lived grandchild, records its pid, then waits on it: killing only the
# parent would leave the grandchild running.
_PARENT_WITH_GRANDCHILD = """\
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open("grandchild.pid", "w").write(str(child.pid))
child.wait()
"""
_PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"
_SLEEP_WITH_STAMPS = "import time; start = time.time(); time.sleep(1.0); print(start, time.time())"


def _is_running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may be slow to reap an orphan)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _wait_until_gone(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not _is_running(pid):
            return True
        time.sleep(0.05)
    return False


def _grandchild_pid(folder: Path) -> int:
    return int((folder / "grandchild.pid").read_text())


def _kill_if_left(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    result = run_command([sys.executable, "-c", _PARENT_WITH_GRANDCHILD], cwd=tmp_path, timeout_s=1.5)
    grandchild = _grandchild_pid(tmp_path)
    try:
        assert result.timed_out
        assert not result.ok
        assert result.duration_s < 10
        assert _wait_until_gone(grandchild), "the grandchild outlived the timeout"
    finally:
        _kill_if_left(grandchild)


def test_async_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    result = asyncio.run(
        run_command_async([sys.executable, "-c", _PARENT_WITH_GRANDCHILD], cwd=tmp_path, timeout_s=1.5)
    )
    grandchild = _grandchild_pid(tmp_path)
    try:
        assert result.timed_out
        assert not result.ok
        assert _wait_until_gone(grandchild), "the grandchild outlived the timeout"
    finally:
        _kill_if_left(grandchild)


def test_a_secret_in_our_environment_does_not_reach_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_NAME, SECRET_VALUE)
    result = run_command([sys.executable, "-c", _PRINT_ENV], cwd=tmp_path, timeout_s=30)
    assert result.ok, result.tail()
    child_env = json.loads(result.stdout)
    assert SECRET_NAME not in child_env
    assert SECRET_VALUE not in result.stdout
    assert "PATH" in child_env


def test_async_child_does_not_see_a_secret_either(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_NAME, SECRET_VALUE)
    result = asyncio.run(run_command_async([sys.executable, "-c", _PRINT_ENV], cwd=tmp_path, timeout_s=30))
    assert result.ok, result.tail()
    assert SECRET_NAME not in json.loads(result.stdout)


def test_clean_env_keeps_only_the_allow_list_plus_what_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_NAME, SECRET_VALUE)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-children")
    env = clean_env({"PYTHONPATH": "src"})
    assert SECRET_NAME not in env
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert env["PYTHONPATH"] == "src"
    assert env["PATH"] == os.environ["PATH"]


def test_async_twin_runs_two_commands_at_the_same_time(tmp_path: Path) -> None:
    async def both() -> list[str]:
        results = await asyncio.gather(
            *(
                run_command_async([sys.executable, "-c", _SLEEP_WITH_STAMPS], cwd=tmp_path, timeout_s=30)
                for _ in range(2)
            )
        )
        assert all(r.ok for r in results), [r.tail() for r in results]
        return [r.stdout for r in results]

    stamps = [tuple(map(float, out.split())) for out in asyncio.run(both())]
    latest_start = max(start for start, _ in stamps)
    earliest_end = min(end for _, end in stamps)
    assert latest_start < earliest_end, f"the two sleeps did not overlap: {stamps}"


def test_awaiting_a_command_leaves_the_event_loop_free(tmp_path: Path) -> None:
    async def ticks_while_waiting() -> int:
        ticks = 0
        command = asyncio.create_task(
            run_command_async([sys.executable, "-c", _SLEEP_WITH_STAMPS], cwd=tmp_path, timeout_s=30)
        )
        while not command.done():
            ticks += 1
            await asyncio.sleep(0.02)
        assert (await command).ok
        return ticks

    # A blocking call would let the loop tick once at most; 1 s of sleep leaves room for many.
    assert asyncio.run(ticks_while_waiting()) >= 5


def test_output_and_exit_code_are_captured(tmp_path: Path) -> None:
    script = "import sys; print('to stdout'); print('to stderr', file=sys.stderr); sys.exit(4)"
    result = run_command([sys.executable, "-c", script], cwd=tmp_path, timeout_s=30)
    assert (result.exit_code, result.timed_out, result.ok) == (4, False, False)
    assert result.stdout.strip() == "to stdout"
    assert result.stderr.strip() == "to stderr"
    assert [line for line in result.tail().splitlines() if line] == ["to stdout", "to stderr"]


def test_a_missing_program_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="could not start"):
        run_command([str(tmp_path / "no-such-program")], cwd=tmp_path, timeout_s=5)


# A command that starts a detached grandchild holding stdout and stderr, then sleeps past its timeout.
_DETACHED_HOLDING_PIPES = """\
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(20)"], start_new_session=True)
time.sleep(30)
"""


def test_a_detached_grandchild_holding_the_pipes_does_not_stretch_the_timeout(tmp_path: Path) -> None:
    result = run_command([sys.executable, "-c", _DETACHED_HOLDING_PIPES], cwd=tmp_path, timeout_s=2)
    assert result.timed_out
    assert result.duration_s < 4, f"a 2 s timeout took {result.duration_s:.1f}s"


def test_async_a_detached_grandchild_holding_the_pipes_does_not_stretch_the_timeout(tmp_path: Path) -> None:
    result = asyncio.run(
        run_command_async([sys.executable, "-c", _DETACHED_HOLDING_PIPES], cwd=tmp_path, timeout_s=2)
    )
    assert result.timed_out
    assert result.duration_s < 4, f"a 2 s timeout took {result.duration_s:.1f}s"


def test_huge_output_keeps_only_a_bounded_tail(tmp_path: Path) -> None:
    code = "import sys\nfor i in range(400):\n    sys.stdout.write(str(i) * 100000 + '\\n')\nprint('END')"
    result = run_command([sys.executable, "-c", code], cwd=tmp_path, timeout_s=60)
    assert result.ok
    assert len(result.stdout) <= 200_000
    assert result.stdout.rstrip().endswith("END")


def test_python_tool_runs_the_module_with_the_given_interpreter() -> None:
    assert python_tool("pytest", python=Path("/envs/abc/bin/python")) == [
        "/envs/abc/bin/python",
        "-m",
        "pytest",
    ]


def test_python_tool_defaults_to_spec2prods_own_interpreter() -> None:
    assert python_tool("ruff") == [sys.executable, "-m", "ruff"]
