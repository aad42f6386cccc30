"""Reads of the Dagster instance: stage timings from a run's step events, the upstream steps of the asset
graph, the execution mode from the run config, and each asset's materialization metadata."""

from __future__ import annotations

import dagster as dg
import pytest

from spec2prod_assets.pipeline.jobs import ASYNC_EXECUTION, SYNC_EXECUTION
from spec2prod_assets.pipeline.run_records import (
    NOT_STARTED,
    execution_mode_of,
    materialization_metadata,
    stage_timings,
    step_outcomes,
    upstream_steps,
)


@dg.asset
def first() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3, "label": "first"})


@dg.asset(deps=[first])
def second() -> None:
    return None


@pytest.mark.parametrize(
    ("run_config", "mode"),
    [
        ({"execution": SYNC_EXECUTION}, "sync"),
        ({"execution": ASYNC_EXECUTION}, "async"),
        ({}, "async"),
        ({"execution": {"config": {"multiprocess": {}}}}, "async"),
    ],
    ids=["in-process", "multiprocess", "job-default", "multiprocess-defaults"],
)
def test_execution_mode_of_a_run_config(run_config: dict[str, object], mode: str) -> None:
    assert execution_mode_of(run_config) == mode


def test_stage_timings_come_from_the_runs_step_events() -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize([first, second], instance=instance)
        stages = {s.stage: s for s in stage_timings(instance, result.run_id)}
        assert set(stages) == {"first", "second"}
        assert all(s.start <= s.end and s.status == "SUCCESS" for s in stages.values())
        assert stages["first"].end <= stages["second"].start
        assert [s.stage for s in stage_timings(instance, result.run_id, exclude=["second"])] == ["first"]


@dg.asset
def broken() -> None:
    raise RuntimeError("boom")


@dg.asset(deps=[broken])
def after_broken() -> None:
    return None


def test_step_outcomes_say_what_each_step_did_in_words() -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize([first, broken, after_broken], instance=instance, raise_on_error=False)
        steps = step_outcomes(instance, result.run_id)
        assert {name: step.status for name, step in steps.items()} == {
            "first": "succeeded",
            "broken": "failed",
        }
        assert steps["first"].duration_s >= 0.0
        assert "after_broken" not in steps, "a step that never started has no record: NOT_STARTED stands in"
        assert NOT_STARTED.status == "skipped"


def test_materialization_metadata_is_read_back_as_plain_values() -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize([first, second], instance=instance)
        metadata = materialization_metadata(instance, result.run_id)
        assert metadata["first"] == {"rows": 3, "label": "first"}
        assert set(metadata) == {"first", "second"}


def test_upstream_steps_follow_the_pipeline_graph() -> None:
    from spec2prod_assets.definitions import defs

    upstream = {
        name: set(parents) for name, parents in upstream_steps(defs.resolve_all_asset_specs()).items()
    }
    assert upstream["spec"] == set()
    assert upstream["baseline_tests"] == {"spec"}
    assert upstream["refactored_code"] == {"spec", "baseline_tests"}
    assert {"spec", "baseline_tests", "refactored_code"} <= upstream["workflow_report"]


def test_upstream_steps_match_dagsters_own_asset_graph() -> None:
    """The report's critical path walks these edges; they must be the ones Dagster schedules by."""
    from spec2prod_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    expected = {
        key.to_user_string(): {parent.to_user_string() for parent in graph.get(key).parent_keys}
        for key in graph.materializable_asset_keys
    }
    upstream = upstream_steps(defs.resolve_all_asset_specs())
    assert {name: set(parents) for name, parents in upstream.items()} == expected
