"""The executor every job runs on, chosen by the deployment profile when the code location loads.

One profile per deployment (deploy/, docs/deploy.md), read from `$SPEC2PROD_EXECUTOR`:

- `local` (unset): Dagster's multiprocess/in-process executor on this machine; each run picks async or
  sync (`run_mode`).
- `celery` (the team profile): dagster-celery's executor. Each step is a Celery task on the
  `$SPEC2PROD_CELERY_BROKER` broker, run by whichever worker takes it, on any machine that shares the
  instance (Postgres) and the work folder. Dagster's pools still hold: its Celery loop claims pool slots
  from the instance before it submits a step.
- `k8s` (the cluster profile): dagster-k8s's executor, each step a Kubernetes Job; dagster-k8s is the
  optional `spec2prod[cluster]` extra, imported only here and only then.

Webserver, daemon, run workers and Celery workers must all load the same profile: a Celery worker builds
each step's plan from the run's stored config, which only the same executor accepts.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from resources.env_vars import EnvVarError, env_choice, env_setting
from spec2prod_assets.run_mode import ExecutorKind

EXECUTOR_ENV = "SPEC2PROD_EXECUTOR"
CELERY_BROKER_ENV = "SPEC2PROD_CELERY_BROKER"
EXECUTOR_KINDS: tuple[ExecutorKind, ...] = ("local", "celery", "k8s")

# The local profile's two modes. "async" runs independent stages at the same time in separate processes,
# at most MAX_CONCURRENT_STEPS at once; "sync" runs one step after another in the run's own process.
MAX_CONCURRENT_STEPS = 2
# The forkserver imports this once, so each step's worker starts with the code location, its jobs and the
# instance's storage loaded instead of importing about 1,000 modules itself: a step's launch went from
# about 2.5 s to 0.3-0.5 s (docs/performance.md).
PRELOADED_MODULES = ["spec2prod_assets.pipeline.worker_preload"]
ASYNC_EXECUTION: dict[str, Any] = {
    "config": {
        "multiprocess": {
            "max_concurrent": MAX_CONCURRENT_STEPS,
            "start_method": {"forkserver": {"preload_modules": PRELOADED_MODULES}},
        }
    }
}
SYNC_EXECUTION: dict[str, Any] = {"config": {"in_process": {}}}

# Celery settings every worker and the orchestrator share (the same block is in deploy/team/celery.yaml,
# which a test holds to this one). A worker takes one step at a time and acknowledges it only when the
# step is over, so a second ready step goes to an idle worker instead of waiting behind the first in a
# busy worker's prefetch; a step whose worker process dies is reported as failed (WorkerLostError) and
# not handed to another worker behind the run's back: re-execute the run from failure instead.
CELERY_SETTINGS: dict[str, Any] = {
    "worker_prefetch_multiplier": 1,
    "task_acks_late": True,
    "task_reject_on_worker_lost": False,
}


@dataclass(frozen=True)
class ExecutorProfile:
    """The executor the jobs get and the `execution` block of their default run config."""

    kind: ExecutorKind
    executor_def: dg.ExecutorDefinition | None  # None: Dagster's default multi_or_in_process executor
    default_execution: dict[str, Any] = field(default_factory=dict)


def execution_config(mode: str, profile: ExecutorProfile) -> dict[str, Any]:
    """The run config's `execution` block for a mode (`run_mode.ModeChoice.mode`): a local mode's, else the
    profile's own. Always given in full: run config passed at launch replaces a job's default config, so a
    run that left it out would get the executor's defaults (for Celery, a broker on localhost)."""
    if mode == "sync":
        return SYNC_EXECUTION
    if mode == "async":
        return ASYNC_EXECUTION
    return profile.default_execution


def executor_profile_from_env() -> ExecutorProfile:
    """The profile `$SPEC2PROD_EXECUTOR` names; `EnvVarError` for an unknown one or a missing broker."""
    kind: ExecutorKind = env_choice(EXECUTOR_ENV, EXECUTOR_KINDS) or "local"  # type: ignore[assignment]
    if kind == "celery":
        return celery_profile()
    if kind == "k8s":
        return k8s_profile()
    return local_profile()


def local_profile() -> ExecutorProfile:
    return ExecutorProfile("local", None, ASYNC_EXECUTION)


def celery_profile() -> ExecutorProfile:
    """The broker is also the result backend (Redis holds both), so workers and orchestrator need one URL.
    It stays an `{env: ...}` reference in the run config: the URL (which may carry a password) is read by
    each process that needs it and never stored with the run."""
    if not env_setting(CELERY_BROKER_ENV):
        raise EnvVarError(
            CELERY_BROKER_ENV,
            f"{CELERY_BROKER_ENV} must be set when {EXECUTOR_ENV}=celery "
            "(the broker's URL, e.g. redis://127.0.0.1:6379/0)",
        )
    from dagster_celery import celery_executor

    return ExecutorProfile(
        "celery",
        celery_executor,
        {
            "config": {
                "broker": {"env": CELERY_BROKER_ENV},
                "backend": {"env": CELERY_BROKER_ENV},
                "config_source": dict(CELERY_SETTINGS),
            }
        },
    )


def k8s_profile() -> ExecutorProfile:
    try:
        k8s = importlib.import_module("dagster_k8s")
    except ImportError as error:
        raise EnvVarError(
            EXECUTOR_ENV,
            f"{EXECUTOR_ENV}=k8s needs dagster-k8s, which is not installed: pip install 'spec2prod[cluster]'",
        ) from error
    return ExecutorProfile("k8s", k8s.k8s_job_executor, {})
