"""The deployment profile's executor: chosen by $SPEC2PROD_EXECUTOR, one line for a setting that cannot
work, the broker URL kept out of the run config, and the team workers' config held to the jobs'.

The profile functions are called directly: `jobs.py` reads the environment once at import, and reloading it
would change the code location every other test sees.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import dagster as dg
import pytest
import yaml

from resources.env_vars import EnvVarError
from spec2prod_assets.pipeline.executors import (
    ASYNC_EXECUTION,
    CELERY_BROKER_ENV,
    CELERY_SETTINGS,
    EXECUTOR_ENV,
    SYNC_EXECUTION,
    celery_profile,
    execution_config,
    executor_profile_from_env,
    k8s_profile,
    local_profile,
)
from spec2prod_assets.pipeline.jobs import JOB_STAGES, build_jobs
from tests.conftest import REPO_ROOT

BROKER_URL = "redis://:s3cret@127.0.0.1:1/0"
TEAM_CELERY_YAML = REPO_ROOT / "deploy" / "team" / "celery.yaml"
BROKER_REFERENCE = {"env": CELERY_BROKER_ENV}


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(CELERY_BROKER_ENV, BROKER_URL)
    return BROKER_URL


def _one_line(error: pytest.ExceptionInfo[EnvVarError]) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    return message


def test_no_executor_set_is_the_local_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    profile = executor_profile_from_env()
    assert (profile.kind, profile.executor_def, profile.default_execution) == ("local", None, ASYNC_EXECUTION)


def test_local_named_explicitly_is_the_local_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXECUTOR_ENV, "local")
    assert executor_profile_from_env() == local_profile()


def test_celery_is_the_team_profile_on_dagster_celerys_executor(
    monkeypatch: pytest.MonkeyPatch, broker: str
) -> None:
    monkeypatch.setenv(EXECUTOR_ENV, "Celery")  # any letter case
    profile = executor_profile_from_env()
    assert profile.kind == "celery"
    assert profile.executor_def is not None and profile.executor_def.name == "celery"


def test_celery_without_a_broker_is_one_line_naming_the_broker_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(EXECUTOR_ENV, "celery")
    monkeypatch.delenv(CELERY_BROKER_ENV, raising=False)
    with pytest.raises(EnvVarError) as error:
        executor_profile_from_env()
    assert error.value.name == CELERY_BROKER_ENV
    assert CELERY_BROKER_ENV in _one_line(error)


def test_a_blank_broker_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CELERY_BROKER_ENV, "   ")
    with pytest.raises(EnvVarError) as error:
        celery_profile()
    assert error.value.name == CELERY_BROKER_ENV


def test_an_unknown_executor_is_one_line_listing_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXECUTOR_ENV, "dask")
    with pytest.raises(EnvVarError) as error:
        executor_profile_from_env()
    message = _one_line(error)
    assert error.value.name == EXECUTOR_ENV
    assert "'dask'" in message and "local, celery, k8s" in message


def test_k8s_without_dagster_k8s_names_the_cluster_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("dagster_k8s") is not None:
        pytest.skip("dagster-k8s is installed here: the k8s profile loads")
    monkeypatch.setenv(EXECUTOR_ENV, "k8s")
    with pytest.raises(EnvVarError) as error:
        executor_profile_from_env()
    assert error.value.name == EXECUTOR_ENV
    assert "spec2prod[cluster]" in _one_line(error)


def test_k8s_profile_alone_raises_the_same_error() -> None:
    if importlib.util.find_spec("dagster_k8s") is not None:
        pytest.skip("dagster-k8s is installed here: the k8s profile loads")
    with pytest.raises(EnvVarError, match=r"spec2prod\[cluster\]"):
        k8s_profile()


def test_the_celery_run_config_refers_to_the_broker_by_name_never_by_url(broker: str) -> None:
    execution = celery_profile().default_execution
    assert execution["config"]["broker"] == BROKER_REFERENCE
    assert execution["config"]["backend"] == BROKER_REFERENCE
    assert broker not in repr(execution) and "s3cret" not in repr(execution)


def test_the_celery_run_config_carries_the_shared_celery_settings(broker: str) -> None:
    assert celery_profile().default_execution["config"]["config_source"] == CELERY_SETTINGS


@pytest.mark.parametrize(("mode", "expected"), [("sync", SYNC_EXECUTION), ("async", ASYNC_EXECUTION)])
def test_a_local_mode_gets_its_own_execution_block(mode: str, expected: dict[str, Any]) -> None:
    assert execution_config(mode, local_profile()) == expected


def test_the_celery_mode_gets_the_profiles_execution_block_in_full(broker: str) -> None:
    profile = celery_profile()
    assert execution_config("celery", profile) == profile.default_execution
    assert execution_config("celery", profile)["config"]["broker"] == BROKER_REFERENCE


@pytest.fixture
def celery_definitions(broker: str) -> dg.Definitions:
    """The code location's assets and resources with the jobs of the celery profile."""
    from spec2prod_assets.definitions import defs

    return dg.Definitions(assets=defs.assets, jobs=build_jobs(celery_profile()), resources=defs.resources)


def test_build_jobs_gives_the_three_jobs_in_pipeline_order(broker: str) -> None:
    assert [job.name for job in build_jobs(celery_profile())] == list(JOB_STAGES)


@pytest.mark.parametrize("job_name", sorted(JOB_STAGES))
def test_each_celery_job_runs_on_dagster_celerys_executor(
    celery_definitions: dg.Definitions, job_name: str
) -> None:
    assert celery_definitions.resolve_job_def(job_name).executor_def.name == "celery"


@pytest.mark.parametrize("job_name", sorted(JOB_STAGES))
def test_each_celery_jobs_default_config_validates_with_the_broker_read_from_the_environment(
    celery_definitions: dg.Definitions, job_name: str, broker: str
) -> None:
    job = celery_definitions.resolve_job_def(job_name)
    assert job.partitioned_config is not None
    default = job.partitioned_config.get_run_config_for_partition_key("calculator")
    assert default == {"execution": celery_profile().default_execution}
    resolved = dg.validate_run_config(job, default)["execution"]["celery"]
    assert (resolved["broker"], resolved["backend"]) == (broker, broker)
    assert resolved["config_source"] == CELERY_SETTINGS


def test_the_local_jobs_keep_dagsters_default_executor() -> None:
    from spec2prod_assets.definitions import defs

    jobs = build_jobs(local_profile())
    local = dg.Definitions(assets=defs.assets, jobs=jobs, resources=defs.resources)
    assert local.resolve_job_def(jobs[0].name).executor_def.name == "multi_or_in_process_executor"


def _team_worker_config() -> dict[str, Any]:
    return yaml.safe_load(TEAM_CELERY_YAML.read_text(encoding="utf-8"))["execution"]["config"]


def test_the_team_workers_use_the_same_celery_settings_as_the_jobs() -> None:
    assert _team_worker_config()["config_source"] == CELERY_SETTINGS


def test_the_team_workers_read_broker_and_backend_from_the_broker_variable() -> None:
    config = _team_worker_config()
    assert (config["broker"], config["backend"]) == (BROKER_REFERENCE, BROKER_REFERENCE)
