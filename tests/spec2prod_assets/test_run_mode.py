"""`auto` execution mode: async where generation waits on something other than this machine's cores."""

from __future__ import annotations

import pytest

from spec2prod_assets.run_mode import LOCAL_ASYNC_MIN_CORES, MODE_REASON_TAG, MODE_TAG, choose_mode


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
