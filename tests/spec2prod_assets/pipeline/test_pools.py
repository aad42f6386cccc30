"""A run's side of the instance's pools: each pool's row made with the instance's default limit before the
run claims from it (so two runs starting together do not race to create it), and an ended run's slots
freed (a killed worker never frees the slot its step held)."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from spec2prod_assets.pipeline.pools import ensure_pool_limits, free_slots_of_ended_run

POOL = "openhands"
DEFAULT_LIMIT = 2


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(
        overrides={"concurrency": {"pools": {"default_limit": DEFAULT_LIMIT}}}
    ) as instance:
        yield instance


def test_a_missing_pool_is_created_with_the_instances_default_limit(instance: dg.DagsterInstance) -> None:
    assert POOL not in instance.event_log_storage.get_concurrency_keys()
    ensure_pool_limits(instance, [POOL])
    info = instance.event_log_storage.get_concurrency_info(POOL)
    assert (info.slot_count, info.using_default_limit) == (DEFAULT_LIMIT, True)


def test_every_pool_named_is_created(instance: dg.DagsterInstance) -> None:
    ensure_pool_limits(instance, [POOL, "crosshair"])
    assert instance.event_log_storage.get_concurrency_keys() == {POOL, "crosshair"}


def test_a_pool_that_exists_is_left_as_it_is(instance: dg.DagsterInstance) -> None:
    """A second call (another run) must not reset a limit someone set since: it only fills in what is
    missing."""
    ensure_pool_limits(instance, [POOL])
    instance.event_log_storage.set_concurrency_slots(POOL, 5)
    ensure_pool_limits(instance, [POOL])
    assert instance.event_log_storage.get_concurrency_info(POOL).slot_count == 5


def test_no_default_limit_creates_no_pool() -> None:
    """Without `default_limit` Dagster leaves pools unlimited; a row would limit them to nothing."""
    with dg.instance_for_test() as instance:
        ensure_pool_limits(instance, [POOL])
        assert instance.event_log_storage.get_concurrency_keys() == set()


def test_an_ended_runs_slot_is_freed(instance: dg.DagsterInstance) -> None:
    ensure_pool_limits(instance, [POOL])
    storage = instance.event_log_storage
    storage.claim_concurrency_slot(POOL, "killed-run", "generated_tests")
    assert storage.get_concurrency_info(POOL).active_slot_count == 1
    free_slots_of_ended_run(instance, "killed-run")
    info = storage.get_concurrency_info(POOL)
    assert (info.active_slot_count, info.claimed_slots) == (0, [])


def test_freeing_one_run_leaves_another_runs_slot_claimed(instance: dg.DagsterInstance) -> None:
    ensure_pool_limits(instance, [POOL])
    storage = instance.event_log_storage
    storage.claim_concurrency_slot(POOL, "killed-run", "generated_tests")
    storage.claim_concurrency_slot(POOL, "live-run", "generated_tests")
    free_slots_of_ended_run(instance, "killed-run")
    assert [slot.run_id for slot in storage.get_concurrency_info(POOL).claimed_slots] == ["live-run"]
