"""Every subprocess spec2prod starts goes through here: a deadline, bounded output, no secrets, a sandbox.

Generated tests and user tests are untrusted code, so they get an environment built from an allow-list
rather than a copy of ours (which may hold API keys), and, given a `Sandbox`, run inside bubblewrap. The
deadline covers the whole call: the process tree is killed at it and the pipes are not waited on after
it, even when a detached grandchild still holds them. Only a bounded tail of the output is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from spec2prod_assets.runtime.output_capture import capture
from spec2prod_assets.runtime.pid_limit import PidGroup, pid_group
from spec2prod_assets.runtime.sandbox import (
    Sandbox,
    limit_args,
    sandbox_mode,
    sandboxed_args,
    warn_unsandboxed,
)

# Only what a Python tool needs to start; anything else (tokens, keys, cloud credentials) stays out.
_INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "TZ")
_OUTPUT_LIMIT = 200_000
_T = TypeVar("_T")
# A tool whose stdout is its product (CrossHair's tests) keeps more, but never without bound.
_PRODUCT_OUTPUT_LIMIT = 16 * 1024 * 1024


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


def python_tool(module: str, python: Path | str | None = None) -> list[str]:
    """Run a tool module with `python` (the component's environment), or with spec2prod's own
    interpreter when None (tools that never import the component: ruff)."""
    return [str(python) if python is not None else sys.executable, "-m", module]


def run_command(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    sandbox: Sandbox | None = None,
    pass_fds: Collection[int] = (),
) -> CommandResult:
    """Run `args` to completion or until `timeout_s`, when its whole process tree is killed.

    With `sandbox`, the command runs inside bubblewrap (see `runtime.sandbox`); `pass_fds` are file
    descriptors the command inherits (a results pipe).
    """
    return _run(args, cwd=cwd, timeout_s=timeout_s, env=env, sandbox=sandbox, pass_fds=pass_fds)


async def run_command_async(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    started: asyncio.Future[int] | None = None,
    clip_output: bool = True,
    sandbox: Sandbox | None = None,
) -> CommandResult:
    """The asyncio twin of `run_command`: awaiting it never blocks the event loop.

    Run it as a task to start a command and look at it later: `started` gets the process id as soon as
    the command runs, and cancelling the task kills its process tree. `clip_output=False` keeps up to
    16 MB of output, for a tool whose stdout is its product (CrossHair's generated tests), not a log.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[CommandResult] = loop.create_future()
    control = _Control()

    def on_start(pid: int) -> None:
        if started is not None:
            loop.call_soon_threadsafe(_settle, started, pid, None)

    def work() -> None:
        try:
            result = _run(
                args,
                cwd=cwd,
                timeout_s=timeout_s,
                env=env,
                sandbox=sandbox,
                limit=_OUTPUT_LIMIT if clip_output else _PRODUCT_OUTPUT_LIMIT,
                control=control,
                on_start=on_start,
            )
        except BaseException as exc:  # handed to the awaiting task, whatever it is
            with contextlib.suppress(RuntimeError):  # the loop may be gone
                loop.call_soon_threadsafe(_settle, done, None, exc)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, done, result, None)

    threading.Thread(target=work, name=f"command-{args[0]}", daemon=True).start()
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        control.cancel()
        with contextlib.suppress(BaseException):
            await done  # the tree is dead before the cancellation returns: nothing outlives its task
        raise


class _Control:
    """Shared between a run and whoever may cancel it: the pid, once known, and the cancel flag."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self.cancelled = False

    def started(self, pid: int) -> None:
        with self._lock:
            self._pid = pid
            if self.cancelled:
                _kill_group(pid)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if self._pid is not None:
                _kill_group(self._pid)


def _settle(future: asyncio.Future[_T], value: _T | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)  # type: ignore[arg-type]  # value is set whenever error is not


def _run(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None,
    sandbox: Sandbox | None,
    pass_fds: Collection[int] = (),
    limit: int = _OUTPUT_LIMIT,
    control: _Control | None = None,
    on_start: Callable[[int], None] | None = None,
) -> CommandResult:
    control = control or _Control()
    started = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    argv, group = _launch_args(args, cwd, sandbox)
    try:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env) if env is not None else clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=tuple(pass_fds),
            )
        except OSError as exc:
            raise CommandError(f"could not start {args[0]!r}: {exc}") from exc
        control.started(proc.pid)
        if on_start is not None:
            on_start(proc.pid)
        captured = capture(
            proc,
            deadline=deadline,
            limit=limit,
            kill=lambda: _kill_group(proc.pid),
            cancelled=lambda: control.cancelled,
        )
        _kill_group(proc.pid)  # what stayed in its group after it ended goes with it
    finally:
        if group is not None:
            group.close()
    return CommandResult(
        args=tuple(args),
        exit_code=proc.returncode if proc.returncode is not None else -1,
        stdout=captured.stdout,
        stderr=captured.stderr,
        duration_s=time.perf_counter() - started,
        timed_out=captured.timed_out,
    )


def _launch_args(
    args: Sequence[str], cwd: Path, sandbox: Sandbox | None
) -> tuple[list[str], PidGroup | None]:
    """The command line that really starts: sandboxed (and in a pids cgroup) when asked and not opted out."""
    if sandbox is None:
        return list(args), None
    if sandbox_mode() == "off":
        warn_unsandboxed(args)
        return [*limit_args(sandbox), *args], None
    argv = sandboxed_args(args, cwd=cwd, sandbox=sandbox)
    group = pid_group(sandbox.processes)
    return (group.wrap(argv) if group is not None else argv), group


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask), not the machine's count: what bounds how
    many CPU-bound processes are worth running at once."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
