"""Every subprocess spec2prod starts goes through here: a timeout, captured output, no secrets.

Generated tests and user tests are untrusted code, so they get an environment built from an allow-list
rather than a copy of ours (which may hold API keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Only what a Python tool needs to start; anything else (tokens, keys, cloud credentials) stays out.
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "TZ")
_OUTPUT_LIMIT = 200_000


@dataclass(frozen=True)
class CommandResult:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def tail(self, lines: int = 30) -> str:
        """The end of stdout and stderr, for error messages and metadata."""
        text = (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).strip()
        return "\n".join(text.splitlines()[-lines:])


class CommandError(RuntimeError):
    """A command could not run, timed out, or its output could not be trusted."""

    def __init__(self, message: str, result: CommandResult | None = None) -> None:
        super().__init__(message)
        self.result = result


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An allow-listed environment: no inherited secrets, no stray bytecode, plus `extra`."""
    env = {key: os.environ[key] for key in _INHERITED_ENV if key in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONHASHSEED"] = "0"
    if extra:
        env.update(extra)
    return env


def python_tool(module: str) -> list[str]:
    """Run a tool installed beside spec2prod (pytest, ruff, crosshair) with this interpreter."""
    return [sys.executable, "-m", module]


def _clip(text: str) -> str:
    return text if len(text) <= _OUTPUT_LIMIT else text[-_OUTPUT_LIMIT:]


def run_command(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run `args` to completion or until `timeout_s`, when its whole process group is killed."""
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=dict(env) if env is not None else clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        raise CommandError(f"could not start {args[0]!r}: {exc}") from exc
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        stdout, stderr = proc.communicate()
        timed_out = True
    return CommandResult(
        args=tuple(args),
        exit_code=proc.returncode,
        stdout=_clip(stdout),
        stderr=_clip(stderr),
        duration_s=time.perf_counter() - started,
        timed_out=timed_out,
    )


async def run_command_async(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    started: asyncio.Future[int] | None = None,
    clip_output: bool = True,
) -> CommandResult:
    """The asyncio twin of `run_command`: awaiting it never blocks the event loop.

    Run it as a task to start a command and look at it later: `started` gets the process id as soon as
    the command runs, and cancelling the task kills its process group. `clip_output=False` keeps the
    whole output, for a tool whose stdout is its product (CrossHair's generated tests), not a log.
    """
    begun = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=cwd,
            env=dict(env) if env is not None else clean_env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise CommandError(f"could not start {args[0]!r}: {exc}") from exc
    if started is not None:
        started.set_result(proc.pid)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout_s)
        timed_out = False
    except TimeoutError:
        _kill_group(proc.pid)
        out, err = await proc.communicate()
        timed_out = True
    except asyncio.CancelledError:
        _kill_group(proc.pid)
        await proc.wait()  # reaped before the cancellation returns: nothing outlives its task
        raise
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    return CommandResult(
        args=tuple(args),
        exit_code=proc.returncode if proc.returncode is not None else -1,
        stdout=_clip(stdout) if clip_output else stdout,
        stderr=_clip(stderr) if clip_output else stderr,
        duration_s=time.perf_counter() - begun,
        timed_out=timed_out,
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
