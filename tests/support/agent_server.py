"""Start and stop the real OpenHands agent server from `.venv-openhands` for the openhands_real tests.

The server runs as a child process in its own session with a random session key, an allow-listed
environment and a private HOME and tmux socket folder, so it touches nothing of ours and everything it
starts can be stopped with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.services import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
OPENHANDS_VENV = REPO_ROOT / ".venv-openhands"
OPENHANDS_PYTHON = OPENHANDS_VENV / "bin" / "python"
STARTUP_TIMEOUT_S = 90.0
_INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "TZ")


@dataclass(frozen=True)
class AgentServer:
    base_url: str
    api_key: str
    pid: int
    home: Path
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def missing_reason() -> str | None:
    """Why the real server cannot run here, or None when `.venv-openhands` is installed."""
    if not OPENHANDS_PYTHON.exists():
        return f"{OPENHANDS_VENV.name} is missing: run scripts/openhands_venv.sh"
    return None


def _die_with_parent() -> None:
    """Linux only: the kernel kills the server if the test process dies without running finalizers."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _wait_until_alive(base_url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"agent server exited with {process.returncode} before it was alive")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/alive", timeout=2.0).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"agent server was not alive after {timeout_s:.0f} s")


def _stop(process: subprocess.Popen[bytes], tmux_dir: Path) -> None:
    """Terminate the server, then kill whatever is left of its process group and its tmux server."""
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=5)
    # tmux daemonizes its server into a session of its own; only ours listen in our private folder.
    for socket_path in tmux_dir.glob("tmux-*/*"):
        subprocess.run(
            ["tmux", "-S", str(socket_path), "kill-server"],
            check=False,
            capture_output=True,
            timeout=10,
        )


@contextmanager
def running_agent_server(workdir: Path) -> Iterator[AgentServer]:
    """Run `python -m openhands.agent_server` on a free loopback port until the block ends."""
    reason = missing_reason()
    if reason:
        raise RuntimeError(reason)
    port = free_port()
    home = workdir / "home"
    tmux_dir = workdir / "tmux"
    for folder in (home, tmux_dir):
        folder.mkdir(parents=True, exist_ok=True)
    api_key = secrets.token_urlsafe(24)
    env = {key: os.environ[key] for key in _INHERITED_ENV if key in os.environ}
    env.update(
        HOME=str(home),
        TMUX_TMPDIR=str(tmux_dir),
        SESSION_API_KEY=api_key,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        OPENHANDS_SUPPRESS_BANNER="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    log_path = workdir / "agent-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(OPENHANDS_PYTHON),
                "-m",
                "openhands.agent_server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    server = AgentServer(
        base_url=f"http://127.0.0.1:{port}", api_key=api_key, pid=process.pid, home=home, log_path=log_path
    )
    try:
        try:
            _wait_until_alive(server.base_url, process, STARTUP_TIMEOUT_S)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- agent server log ---\n{server.log_tail()}") from None
        yield server
    finally:
        _stop(process, tmux_dir)
