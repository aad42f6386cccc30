"""A run's side of the instance's pools: their limits created before it claims a slot, its slots freed after.

Dagster creates a pool's row (its limit from `concurrency: pools: default_limit`) the first time a step
claims a slot. On Postgres two runs doing that at the same moment fail one of them: the loser's INSERT hits
the unique key, and the UPDATE it falls back to runs in the transaction Postgres has already aborted
("current transaction is aborted", dagster-io/dagster#33552, still so in 1.13.27). We met it with two
`spec2prod run`s started together on a fresh team instance. Creating the rows here, before the run, takes
the race out of the runs: if another process wins it, the row exists afterwards and that is all we need.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg


def ensure_pool_limits(instance: dg.DagsterInstance, pools: Iterable[str]) -> None:
    """Give each pool its default limit on the instance unless it has a row already; a no-op when the
    instance sets no default limit (then Dagster leaves pools unlimited) or keeps no limits at all."""
    storage = instance.event_log_storage
    if instance.global_op_concurrency_default_limit is None or not storage.supports_global_concurrency_limits:
        return
    for pool in pools:
        if pool in storage.get_concurrency_keys():
            continue
        try:
            storage.initialize_concurrency_limit_to_default(pool)
        except Exception:
            if pool not in storage.get_concurrency_keys():  # not the race: a real error, say it
                raise


def free_slots_of_ended_run(instance: dg.DagsterInstance, run_id: str) -> None:
    """Free what an ended run still holds. A step whose worker process died (a killed Celery worker) never
    frees its slot, and the pool would stay short of it: the next run's step would wait until Dagster's
    claim timed out. The daemon's run monitoring does the same for runs it sees end
    (deploy/team/dagster.yaml); a run `spec2prod run` made should not wait for a daemon."""
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
