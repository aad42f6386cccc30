"""The team profile on loopback, as docs/deploy.md sets it up: Postgres, Redis, Celery workers, one env.

Every process of the stack (`spec2prod run`, `dagster dev`, the workers) gets the same environment:
`DAGSTER_HOME` holding deploy/team/dagster.yaml (only the pool limit may be changed), the Postgres URL it
reads, `SPEC2PROD_EXECUTOR=celery` with the Redis broker, one shared work folder and a values URL. The
workers are started with the command the docs give (`dagster-celery worker start ... -- --concurrency=1`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from tests.conftest import MUTATION_OFF, REPO_ROOT
from tests.support.process_tree import descendants, stop_process_tree
from tests.support.services import PostgresServer, RedisServer, postgres_server, redis_server

TEAM_PROFILE = REPO_ROOT / "deploy" / "team"
WORKER_READY_TIMEOUT_S = 90.0
_CELERY_WORKER = "Celery worker"  # the metadata key of dagster-celery's "Executing steps" engine event


@dataclass
class TeamStack:
    base: Path
    home: Path
    work_dir: Path
    env: dict[str, str]
    postgres: PostgresServer
    redis: RedisServer
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def instance(self) -> dg.DagsterInstance:
        """The shared instance, opened the way every process of the stack opens it."""
        with _environment({"SPEC2PROD_POSTGRES_URL": self.postgres.url}):
            return dg.DagsterInstance.from_config(str(self.home))

    def start_worker(self, name: str) -> None:
        log = (self.base / f"{name}.log").open("wb")
        command = [
            str(Path(sys.executable).with_name("dagster-celery")),
            "worker",
            "start",
            "-A",
            "dagster_celery.app",
            "-y",
            str(TEAM_PROFILE / "celery.yaml"),
            "--name",
            name,
            "--",
            "--concurrency=1",
        ]
        self.workers[name] = subprocess.Popen(
            command, cwd=self.base, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
        while f"{name}@" not in self.worker_log(name) or " ready." not in self.worker_log(name):
            if self.workers[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker {name} did not start:\n{self.worker_log(name)[-3000:]}")
            time.sleep(0.5)

    def worker_log(self, name: str) -> str:
        return (self.base / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def kill_pool_process(self, name: str) -> int:
        """SIGKILL the process in which worker `name` runs its step, as a crash or the OOM killer would;
        the worker's main process stays up. Returns the killed pid."""
        celery_main = _children(self.workers[name].pid)
        pool = [pid for main in celery_main for pid in _children(main)]
        if len(pool) != 1:
            raise RuntimeError(f"worker {name} has pool processes {pool}, expected one (--concurrency=1)")
        os.kill(pool[0], signal.SIGKILL)
        return pool[0]

    def stop(self) -> None:
        for process in self.workers.values():
            stop_process_tree(process)


@contextlib.contextmanager
def team_stack(base: Path, *, workers: int = 2, pool_limit: int | None = None) -> Iterator[TeamStack]:
    """Postgres, Redis and `workers` Celery workers (worker-1, worker-2, ...), all stopped at the end."""
    home = base / "dagster_home"
    home.mkdir(parents=True)
    profile = (TEAM_PROFILE / "dagster.yaml").read_text(encoding="utf-8")
    if pool_limit is not None:
        profile, changed = re.subn(r"default_limit: \d+", f"default_limit: {pool_limit}", profile)
        assert changed == 1, "deploy/team/dagster.yaml has no pools.default_limit to change"
    (home / "dagster.yaml").write_text(profile, encoding="utf-8")
    work_dir = base / "shared-work"
    with postgres_server() as postgres, redis_server() as redis:
        env = {key: value for key, value in os.environ.items() if not key.startswith("SPEC2PROD_")}
        env |= MUTATION_OFF | {
            "DAGSTER_HOME": str(home),
            "SPEC2PROD_POSTGRES_URL": postgres.url,
            "SPEC2PROD_EXECUTOR": "celery",
            "SPEC2PROD_CELERY_BROKER": redis.url,
            "SPEC2PROD_WORK_DIR": str(work_dir),
            # Asset values through fsspec at a URL of their own, as an object store would hold them.
            "SPEC2PROD_VALUES_URL": (base / "shared-values").as_uri(),
            # dagster-celery starts the `celery` program by name: the venv's, as an activated venv would.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
        stack = TeamStack(base, home, work_dir, env, postgres, redis)
        try:
            for number in range(1, workers + 1):
                stack.start_worker(f"worker-{number}")
            yield stack
        finally:
            stack.stop()
            shutil.rmtree(home / "dagster_celery", ignore_errors=True)


def step_workers(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Each step of the run and the Celery worker (its `--name`) that executed it, from the run's events."""
    found: dict[str, str] = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        metadata = getattr(event.event_specific_data, "metadata", None) or {} if event else {}
        if event is not None and event.step_key and _CELERY_WORKER in metadata:
            found[event.step_key] = str(metadata[_CELERY_WORKER].value).split("@")[0]
    return found


def step_spans(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """Each finished step's (start, end) in seconds since the epoch, from Dagster's step stats."""
    return {
        stat.step_key: (stat.start_time, stat.end_time)
        for stat in instance.get_run_step_stats(run_id)
        if stat.start_time is not None and stat.end_time is not None
    }


def peak_overlap(spans: list[tuple[float, float]]) -> int:
    """The most spans open at one moment (a span ending as another starts does not overlap it)."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    peak = current = 0
    for _, change in edges:
        current += change
        peak = max(peak, current)
    return peak


def _children(pid: int) -> list[int]:
    return [child for child in descendants(pid) if _parent_of(child) == pid]


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
