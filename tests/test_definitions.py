"""A snapshot of the code location's shape: assets and their deps, checks, jobs and their selections,
resources, sensors and partitions. An unintended change to the graph fails here with a readable diff.

When a change is intended, regenerate the snapshot and review its diff like code:
`SPEC2PROD_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/test_definitions.py`.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from spec2prod_assets.definitions import defs
from spec2prod_assets.pipeline import stages
from spec2prod_assets.pipeline.history import PERFORMANCE_HISTORY
from spec2prod_assets.pipeline.jobs import JOB_STAGES

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")
UPDATE_ENV = "SPEC2PROD_UPDATE_SNAPSHOT"


def _names(keys: Iterable[dg.AssetKey]) -> list[str]:
    return sorted(key.to_user_string() for key in keys)


def _check_names(keys: Iterable[dg.AssetCheckKey]) -> list[str]:
    return sorted(f"{key.asset_key.to_user_string()}:{key.name}" for key in keys)


def _partitions(partitions_def: dg.PartitionsDefinition | None) -> str | None:
    if partitions_def is None:
        return None
    name = getattr(partitions_def, "name", None)
    return f"{type(partitions_def).__name__}({name!r})" if name else repr(partitions_def)


def definitions_shape(definitions: dg.Definitions) -> dict[str, Any]:
    """Everything about the graph a person or tool relies on, as plain JSON values in a stable order."""
    graph = definitions.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": _names(node.parent_keys),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitions": _partitions(node.partitions_def),
            "pools": sorted(node.pools or ()),
            "checks": _check_names(node.check_keys),
        }
    checks = {
        name: {"blocking": graph.get_check_spec(key).blocking}
        for name, key in sorted(
            (f"{k.asset_key.to_user_string()}:{k.name}", k) for k in graph.asset_check_keys
        )
    }
    jobs = {}
    for declared in sorted(definitions.jobs or (), key=lambda j: j.name):
        job = definitions.resolve_job_def(declared.name)
        jobs[job.name] = {
            "assets": _names(job.asset_layer.selected_asset_keys),
            "checks": _check_names(job.asset_layer.asset_graph.asset_check_keys),
            "default_run_config": getattr(declared, "config", None),
        }
    sensors = {
        sensor.name: {
            "jobs": [target.job_name for target in sensor.targets],
            "default_status": sensor.default_status.value,
        }
        for sensor in sorted(definitions.sensors or (), key=lambda s: s.name)
    }
    partitions = sorted(
        {_partitions(graph.get(key).partitions_def) for key in graph.get_all_asset_keys()} - {None}
    )
    return {
        "assets": assets,
        "checks": checks,
        "jobs": jobs,
        "resources": sorted(definitions.resources or {}),
        "sensors": sensors,
        "partitions": partitions,
    }


def _as_text(shape: dict[str, Any]) -> str:
    return json.dumps(shape, indent=2, sort_keys=True) + "\n"


def test_the_definitions_match_the_committed_snapshot() -> None:
    actual = _as_text(definitions_shape(defs))
    if os.environ.get(UPDATE_ENV):
        SNAPSHOT.write_text(actual, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{SNAPSHOT.name} (committed)",
            tofile="spec2prod_assets.definitions.defs",
        )
    )
    if diff:
        pytest.fail(
            f"the code location changed shape; if that is intended, run with {UPDATE_ENV}=1 and commit "
            f"{SNAPSHOT.name}:\n{diff}",
            pytrace=False,
        )


def test_every_stage_is_an_asset_of_the_step_that_lists_it() -> None:
    """`STEP_ASSETS` is how the run report and `run_workflow` tell stages apart inside a step: it must be
    Dagster's own grouping, each step's stages in dependency order, and cover every pipeline asset."""
    graph = defs.resolve_asset_graph()
    actual: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        if key.to_user_string() != PERFORMANCE_HISTORY:  # about many runs, not a stage of one
            actual.setdefault(graph.get(key).assets_def.op.name, set()).add(key.to_user_string())
    assert actual == {step: set(names) for step, names in stages.STEP_ASSETS.items()}
    for names in stages.STEP_ASSETS.values():
        for position, name in enumerate(names):
            parents = {parent.to_user_string() for parent in graph.get(dg.AssetKey(name)).parent_keys}
            assert parents & set(names) <= set(names[:position]), f"{name} is listed before its upstream"


def test_every_stage_name_is_a_stage_of_some_step() -> None:
    names = {value for name, value in vars(stages).items() if name.isupper() and isinstance(value, str)}
    steps = {stages.SPEC_AND_BASELINE, stages.RELEASE_AND_DEPLOY}
    assert names - steps == set(stages.STEP_OF_ASSET)


@pytest.mark.parametrize("job_name", sorted(JOB_STAGES))
def test_each_jobs_stage_list_is_its_selection_in_dependency_order(job_name: str) -> None:
    """`run_workflow` reports a job's stages in this order, so it must be a topological order."""
    job = defs.resolve_job_def(job_name)
    listed = JOB_STAGES[job_name]
    assert set(listed) == {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    graph = defs.resolve_asset_graph()
    for position, name in enumerate(listed):
        parents = {parent.to_user_string() for parent in graph.get(dg.AssetKey(name)).parent_keys}
        assert parents & set(listed) <= set(listed[:position]), (
            f"{name} is listed before one of its upstream assets"
        )
