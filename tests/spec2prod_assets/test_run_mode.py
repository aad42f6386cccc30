"""`auto` execution mode: async where generation waits on something other than this machine's cores; on the
team and cluster profiles the executor's own mode, and a local mode asked for there is an error."""

from __future__ import annotations

import pytest

from spec2prod_assets.run_mode import (
    LOCAL_ASYNC_MIN_CORES,
    MODE_REASON_TAG,
    MODE_TAG,
    ModeNotAvailable,
    choose_mode,
)


@pytest.mark.parametrize("requested", ["async", "sync"])
def test_a_mode_asked_for_is_the_mode_used_whatever_the_machine(requested: str) -> None:
    for remote in (True, False):
        choice = choose_mode(requested, remote_generator=remote, cores=1)  # type: ignore[arg-type]
        assert (choice.mode, choice.reason) == (requested, f"{requested} mode was asked for")


def test_auto_runs_async_when_the_generator_is_a_remote_agent_even_on_one_core() -> None:
    choice = choose_mode("auto", remote_generator=True, cores=1)
    assert choice.mode == "async"
    assert "remote agent" in choice.reason


def test_auto_runs_sync_beside_crosshair_on_a_small_machine() -> None:
    choice = choose_mode("auto", remote_generator=False, cores=LOCAL_ASYNC_MIN_CORES - 1)
    assert choice.mode == "sync"
    assert f"{LOCAL_ASYNC_MIN_CORES - 1} usable core(s)" in choice.reason


def test_auto_runs_async_beside_crosshair_when_there_are_cores_to_spare() -> None:
    assert choose_mode("auto", remote_generator=False, cores=LOCAL_ASYNC_MIN_CORES).mode == "async"


def test_the_choice_travels_as_run_tags() -> None:
    choice = choose_mode("auto", remote_generator=True, cores=2)
    assert choice.tags() == {MODE_TAG: "async", MODE_REASON_TAG: choice.reason}


@pytest.mark.parametrize("executor", ["celery", "k8s"])
def test_auto_on_a_distributed_executor_is_that_executors_mode(executor: str) -> None:
    for remote, cores in ((True, 1), (False, LOCAL_ASYNC_MIN_CORES)):
        choice = choose_mode("auto", remote_generator=remote, cores=cores, executor=executor)  # type: ignore[arg-type]
        assert choice.mode == executor
        assert f"SPEC2PROD_EXECUTOR={executor}" in choice.reason


@pytest.mark.parametrize("requested", ["async", "sync"])
def test_a_local_mode_asked_for_on_celery_is_refused_naming_both(requested: str) -> None:
    with pytest.raises(ModeNotAvailable) as error:
        choose_mode(requested, remote_generator=False, cores=4, executor="celery")  # type: ignore[arg-type]
    message = str(error.value)
    assert f"--mode {requested}" in message and "SPEC2PROD_EXECUTOR=celery" in message
    assert "\n" not in message


def test_a_local_mode_asked_for_on_k8s_is_refused() -> None:
    with pytest.raises(ModeNotAvailable, match="SPEC2PROD_EXECUTOR=k8s"):
        choose_mode("sync", remote_generator=False, cores=4, executor="k8s")


def test_the_local_executor_keeps_the_mode_asked_for() -> None:
    assert choose_mode("sync", remote_generator=True, cores=8, executor="local").mode == "sync"
