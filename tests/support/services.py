"""Real Postgres and Redis servers for the team-profile tests, each private to one `with` block.

The team profile stores runs in Postgres and queues steps through Redis; fakes of either would hide the
wire-level behaviour (connection strings, auth, readiness) those tests exist to check. So each context
manager starts Debian's own server on 127.0.0.1, on a free port, in a fresh temporary folder, and stops it
and removes the folder when the block ends, also when the block raises. Nothing listens beyond loopback
and nothing outlives the test process: a server whose parent dies is killed by the kernel.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psycopg2
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

TEAM_REQUIRED_ENV = "SPEC2PROD_TEAM_REQUIRED"
POSTGRES_DATABASE = "spec2prod"
# initdb's superuser name, whichever OS user runs the server; trust auth makes it password-free.
POSTGRES_USER = "postgres"
# Postgres refuses to run as root, so as root it runs as Debian's system user of the same name.
_POSTGRES_OS_USER = "postgres"
_DEBIAN_POSTGRES_GLOB = "/usr/lib/postgresql/*/bin"
_STOP_WAIT_S = 10.0
_LOG_TAIL_LINES = 30


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    database: str
    data_dir: Path

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    # The server's working folder; gone once the `with` block ends.
    data_dir: Path

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_bin_dir() -> Path | None:
    """Debian keeps the server binaries off PATH, one folder per major version; the newest wins."""
    candidates = [Path(p) for p in glob.glob(_DEBIAN_POSTGRES_GLOB) if (Path(p) / "postgres").is_file()]
    if candidates:
        return max(candidates, key=lambda path: _version_key(path.parent.name))
    on_path = shutil.which("postgres")
    return Path(on_path).resolve().parent if on_path else None


def services_unavailable() -> str | None:
    """One line saying which server cannot run here, or None when both can."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").is_file():
        return "Postgres server binaries (initdb, postgres) are missing: run 'make team-deps'"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(_POSTGRES_OS_USER)
        except KeyError:
            return f"running as root and there is no '{_POSTGRES_OS_USER}' system user to run Postgres as"
    if shutil.which("redis-server") is None:
        return "redis-server is missing: run 'make team-deps'"
    return None


def require_team_services() -> None:
    """Skip the calling test when the servers are missing; fail instead where CI promises them."""
    reason = services_unavailable()
    if reason is None:
        return
    if os.environ.get(TEAM_REQUIRED_ENV) == "1":
        pytest.fail(f"{reason} ({TEAM_REQUIRED_ENV}=1)")
    pytest.skip(reason)


@contextlib.contextmanager
def postgres_server(*, timeout_s: float = 60) -> Iterator[PostgresServer]:
    """A fresh cluster with the `spec2prod` database; `timeout_s` bounds initdb plus startup together."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no Postgres server binaries found (see services_unavailable())")
    deadline = time.monotonic() + timeout_s
    as_user = _POSTGRES_OS_USER if os.geteuid() == 0 else None
    # In the system temp folder, not pytest's tmp_path: its root-only parents would lock out `postgres`.
    data_dir = Path(tempfile.mkdtemp(prefix="spec2prod-pg-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        if as_user is not None:
            os.chown(data_dir, pwd.getpwnam(as_user).pw_uid, pwd.getpwnam(as_user).pw_gid)
        _initdb(bin_dir, data_dir, as_user, deadline)
        port = free_port()
        log_path = data_dir / "server.log"
        with log_path.open("wb") as log:
            process = _popen(
                [
                    str(bin_dir / "postgres"),
                    *("-D", str(data_dir), "-k", str(data_dir), "-h", "127.0.0.1", "-p", str(port)),
                    # Throwaway data: durability only costs time here.
                    *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
                ],
                log,
                as_user,
            )
        server = PostgresServer("127.0.0.1", port, POSTGRES_USER, POSTGRES_DATABASE, data_dir)
        _wait_until_ready("postgres", _postgres_probe(server), process, log_path, deadline)
        yield server
    finally:
        if process is not None:
            # SIGINT is Postgres's "fast" shutdown: abort sessions, checkpoint, exit.
            _stop(process, signal.SIGINT)
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def redis_server(*, timeout_s: float = 30) -> Iterator[RedisServer]:
    """An empty, memory-only Redis (no RDB, no AOF): the broker's queue needs nothing on disk."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not on PATH (see services_unavailable())")
    deadline = time.monotonic() + timeout_s
    data_dir = Path(tempfile.mkdtemp(prefix="spec2prod-redis-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        port = free_port()
        log_path = data_dir / "server.log"
        with log_path.open("wb") as log:
            process = _popen(
                [
                    executable,
                    *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)),
                    *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                ],
                log,
                None,
            )
        server = RedisServer("127.0.0.1", port, data_dir)
        _wait_until_ready("redis-server", _redis_probe(server), process, log_path, deadline)
        yield server
    finally:
        if process is not None:
            _stop(process, signal.SIGTERM)
        shutil.rmtree(data_dir, ignore_errors=True)


def _initdb(bin_dir: Path, data_dir: Path, as_user: str | None, deadline: float) -> None:
    command = [
        str(bin_dir / "initdb"),
        *("-D", str(data_dir), "-U", POSTGRES_USER, "--auth=trust"),
        # The C locale exists everywhere, so the machine's LANG cannot make initdb fail.
        *("-E", "UTF8", "--locale=C"),
        *("--no-sync", "--no-instructions"),
    ]
    user, group, extra_groups = _identity(as_user)
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            timeout=max(deadline - time.monotonic(), 1),
            check=False,
            user=user,
            group=group,
            extra_groups=extra_groups,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"initdb did not finish in time\n{_tail(exc.stdout, exc.stderr)}") from exc
    if result.returncode != 0:
        raise RuntimeError(f"initdb exited with {result.returncode}\n{_tail(result.stdout, result.stderr)}")


def _wait_until_ready(
    name: str,
    probe: Callable[[], str | None],
    process: subprocess.Popen[bytes],
    log_path: Path,
    deadline: float,
) -> None:
    """Ask `probe` (None: ready, else why not) until the deadline; a server that exits fails at once."""
    last_error = "no attempt"
    while time.monotonic() < deadline:
        _raise_if_exited(name, process, log_path)
        problem = probe()
        if problem is None:
            return
        last_error = problem
        time.sleep(0.1)
    _raise_if_exited(name, process, log_path)
    raise RuntimeError(f"{name} not ready in time ({last_error})\n{_log_tail(log_path)}")


def _postgres_probe(server: PostgresServer) -> Callable[[], str | None]:
    """Ready means a real login works; then the test's database is created so `server.url` works."""

    def probe() -> str | None:
        try:
            connection = psycopg2.connect(
                host=server.host, port=server.port, user=server.user, dbname="postgres", connect_timeout=1
            )
        except psycopg2.OperationalError as exc:
            return str(exc).strip()
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{server.database}"')
        finally:
            connection.close()
        return None

    return probe


def _redis_probe(server: RedisServer) -> Callable[[], str | None]:
    """One try per round, so a dead or foreign listener cannot hold the loop past its deadline."""

    def probe() -> str | None:
        client = redis.Redis(
            host=server.host,
            port=server.port,
            socket_timeout=1,
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            return None if client.ping() else "no PONG"
        except redis.RedisError as exc:
            return str(exc).strip()
        finally:
            client.close()

    return probe


def _popen(command: list[str], log: IO[bytes], as_user: str | None) -> subprocess.Popen[bytes]:
    user, group, extra_groups = _identity(as_user)
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Own session: a Ctrl-C at the terminal reaches pytest, which then stops the server in order.
        start_new_session=True,
        preexec_fn=_die_with_parent,
        user=user,
        group=group,
        extra_groups=extra_groups,
    )


def _identity(as_user: str | None) -> tuple[str | None, int | None, list[int] | None]:
    """`(user, group, extra_groups)` for subprocess: unchanged when None, else that user's own ids only."""
    if as_user is None:
        return None, None, None
    # No supplementary groups: root's must not leak into the server.
    return as_user, pwd.getpwnam(as_user).pw_gid, []


def _die_with_parent() -> None:
    """Linux: the kernel kills the server if pytest dies without running finalizers.

    Runs after the switch to the server's user, since a credential change clears this setting.
    """
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _stop(process: subprocess.Popen[bytes], stop_signal: signal.Signals) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(stop_signal)
    try:
        process.wait(timeout=_STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=_STOP_WAIT_S)


def _raise_if_exited(name: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"{name} exited with {process.returncode} while starting\n{_log_tail(log_path)}")


def _log_tail(log_path: Path) -> str:
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    lines = text.splitlines()[-_LOG_TAIL_LINES:]
    return f"--- {log_path.name} (tail) ---\n" + "\n".join(lines)


def _tail(stdout: bytes | str | None, stderr: bytes | str | None) -> str:
    parts = [p.decode(errors="replace") if isinstance(p, bytes) else p or "" for p in (stdout, stderr)]
    return "\n".join("\n".join(parts).splitlines()[-_LOG_TAIL_LINES:])


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))
