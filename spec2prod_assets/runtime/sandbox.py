"""The sandbox every piece of untrusted code runs in: bubblewrap around the command, limits on top.

A component's tests, generated tests and CrossHair's exploration run code spec2prod must not trust. Inside
the sandbox the host is read-only, only the run's own folders and a private `/tmp` are writable, `$HOME`
is hidden, there is no network (its own network namespace: every connect is refused) and it has its own
PID namespace, so every process it starts ends when the command does. `--die-with-parent` ends it when
the step that started it is killed. Memory, CPU time and file size are capped with `prlimit`; the
process count with a pids cgroup where one can be created (RLIMIT_NPROC does not bind root).

Where bubblewrap is missing or cannot create namespaces, a sandboxed call stops with a message that says
so; `SPEC2PROD_SANDBOX=off` is the explicit opt-out, and every call made under it logs a warning.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SANDBOX_ENV = "SPEC2PROD_SANDBOX"
SandboxMode = Literal["bubblewrap", "off"]

logger = logging.getLogger(__name__)


class SandboxUnavailable(RuntimeError):
    """Untrusted code was to run sandboxed, and the sandbox cannot be made on this machine."""


@dataclass(frozen=True)
class Sandbox:
    """What a sandboxed command may touch (`writable`, besides a private /tmp) and how much it may use.

    `readable` are folders kept visible read-only even under the hidden /tmp or $HOME: the component's
    environment (cached under $HOME by default) and a project kept under /tmp.
    """

    writable: tuple[Path, ...]
    readable: tuple[Path, ...] = ()
    memory_mb: int = 4096
    cpu_s: int = 900
    file_size_mb: int = 512
    processes: int = 256


_SANDBOX_VALUES: dict[str, SandboxMode] = {
    "": "bubblewrap",
    "on": "bubblewrap",
    "bubblewrap": "bubblewrap",
    "off": "off",
}


class SandboxSettingError(ValueError):
    """SPEC2PROD_SANDBOX holds a value that is neither on nor off: a typo must not silently pick either."""


def sandbox_mode() -> SandboxMode:
    """ "off" when the user opted out with SPEC2PROD_SANDBOX=off, else "bubblewrap"; for run metadata."""
    raw = os.environ.get(SANDBOX_ENV, "")
    mode = _SANDBOX_VALUES.get(raw.strip().lower())
    if mode is None:
        raise SandboxSettingError(f"{SANDBOX_ENV}={raw!r}: must be 'off' (no sandbox) or 'on' (the default)")
    return mode


def limit_args(sandbox: Sandbox) -> list[str]:
    """`prlimit` in front of the command: the limits hold for it and everything it starts."""
    mb = 1024 * 1024
    return [
        _program("prlimit"),
        f"--as={sandbox.memory_mb * mb}",
        f"--cpu={sandbox.cpu_s}",
        f"--fsize={sandbox.file_size_mb * mb}",
        "--",
    ]


def sandboxed_args(command: Sequence[str], *, cwd: Path, sandbox: Sandbox) -> list[str]:
    """`command` wrapped in bubblewrap (and `prlimit`), ready to start with `cwd` as its folder."""
    bwrap = _working_bwrap()
    args = [
        bwrap,
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
    ]
    writable = [folder.resolve() for folder in sandbox.writable]
    workdir = cwd.resolve()
    # What must stay visible (read-only) although it may sit under a folder the sandbox hides: the
    # interpreter and virtualenv the tools run with (pyenv under $HOME, a checkout under /tmp), the
    # sandbox's `readable` folders, and the command's own folder when it is not one of the writable ones.
    missing = [folder for folder in sandbox.readable if not folder.is_dir()]
    if missing:
        raise FileNotFoundError(
            f"the sandbox was asked to keep {missing[0]} readable, and it is not a folder"
        )
    visible = [*_python_roots(), *(folder.resolve() for folder in sandbox.readable)]
    if not any(workdir.is_relative_to(folder) for folder in writable):
        visible.append(workdir)
    for hidden in _hidden_folders():
        args += ["--tmpfs", str(hidden)]
        for folder in visible:
            if folder.is_relative_to(hidden) and folder != hidden:
                args += ["--ro-bind", str(folder), str(folder)]
    for folder in writable:
        args += ["--bind", str(folder), str(folder)]
    args += [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--chdir",
        str(workdir),
        "--",
    ]
    return [*limit_args(sandbox), *args, *command]


def warn_unsandboxed(command: Sequence[str]) -> None:
    """Every run under SPEC2PROD_SANDBOX=off says so: the opt-out must never go unnoticed."""
    logger.warning(
        "%s=off: running %r WITHOUT the sandbox (host writable, network open)", SANDBOX_ENV, command[0]
    )


def _hidden_folders() -> list[Path]:
    """Folders replaced by an empty tmpfs inside the sandbox: a private /tmp, and $HOME (keys, tokens)."""
    home = Path.home().resolve()
    tmp = Path("/tmp")
    return [tmp] if home in (Path("/"), tmp) or tmp.is_relative_to(home) else [tmp, home]


@functools.cache
def _python_roots() -> tuple[Path, ...]:
    """The folders this interpreter and its packages live in (the sandboxed tools run with it); fixed for
    the life of the process, so resolved once."""
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    roots.add(Path(__file__).resolve().parents[2])  # spec2prod itself (its outcomes plugin is loaded)
    return tuple(sorted(roots))


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SandboxUnavailable(_unavailable(f"'{name}' is not installed"))
    return path


@functools.cache
def _working_bwrap() -> str:
    """bwrap's path once it has been seen to create its namespaces here (checked once per process)."""
    bwrap = _program("bwrap")
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "true"]
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(_unavailable(f"bubblewrap could not run: {exc}")) from exc
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
        raise SandboxUnavailable(_unavailable(f"bubblewrap cannot create namespaces here: {reason[0]}"))
    return bwrap


def _unavailable(reason: str) -> str:
    return (
        f"cannot sandbox untrusted code: {reason}. Install bubblewrap (Debian: `apt-get install bubblewrap`, "
        f"or `make system-deps`), or opt out explicitly with {SANDBOX_ENV}=off "
        "(tests then run unsandboxed, with a warning in every run)"
    )
