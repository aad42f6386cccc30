"""The JSON artifact IO manager: pydantic values through a real partitioned materialization and back."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import dagster as dg
import pytest
from pydantic import BaseModel

from resources.artifact_io import ArtifactIOManager
from resources.project import ProjectResource

PARTITION = "calculator"
parts = dg.DynamicPartitionsDefinition(name="specs")


class Measurement(BaseModel):
    name: str
    values: tuple[float, ...]
    passed: bool


@dg.asset(partitions_def=parts)
def measured() -> Measurement:
    return Measurement(name="coverage", values=(43.75, 0.5), passed=False)


@dg.asset(partitions_def=parts)
def checked(measured: Measurement) -> Measurement:
    return measured.model_copy(update={"name": f"checked {measured.name}", "passed": True})


@dg.asset(partitions_def=parts)
def not_a_model() -> dict[str, int]:
    return {"a": 1}


@dg.asset
def unpartitioned() -> Measurement:
    return Measurement(name="global", values=(), passed=True)


def _io(tmp_path: Path) -> dict[str, object]:
    project = ProjectResource(root=str(tmp_path / "project"), work_dir=str(tmp_path / "work"))
    return {"io_manager": ArtifactIOManager(project=project)}


def _stored(tmp_path: Path, partition: str, asset: str) -> Path:
    return tmp_path / "work" / partition / "assets" / f"{asset}.json"


def test_a_pydantic_value_round_trips_through_a_partitioned_materialization(
    tmp_path: Path, partitioned_instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [measured, checked], partition_key=PARTITION, resources=_io(tmp_path), instance=partitioned_instance
    )
    assert result.success
    assert result.output_for_node("checked") == Measurement(
        name="checked coverage", values=(43.75, 0.5), passed=True
    )
    stored = json.loads(_stored(tmp_path, PARTITION, "measured").read_text(encoding="utf-8"))
    assert stored == {"name": "coverage", "values": [43.75, 0.5], "passed": False}


def test_the_stored_path_is_recorded_as_metadata(
    tmp_path: Path, partitioned_instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [measured], partition_key=PARTITION, resources=_io(tmp_path), instance=partitioned_instance
    )
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["artifact"].value == str(_stored(tmp_path, PARTITION, "measured"))


def test_a_later_run_reads_what_an_earlier_run_stored(
    tmp_path: Path, partitioned_instance: dg.DagsterInstance
) -> None:
    resources = _io(tmp_path)
    dg.materialize([measured], partition_key=PARTITION, resources=resources, instance=partitioned_instance)
    result = dg.materialize(
        [measured, checked],
        selection=[checked],
        partition_key=PARTITION,
        resources=resources,
        instance=partitioned_instance,
    )
    assert result.output_for_node("checked").name == "checked coverage"


def test_a_missing_upstream_value_fails_naming_the_asset(
    tmp_path: Path, partitioned_instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [measured, checked],
        selection=[checked],
        partition_key=PARTITION,
        resources=_io(tmp_path),
        instance=partitioned_instance,
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    assert error is not None
    messages = [error.message, *(c.message for c in _causes(error))]
    assert any("No stored value for measured" in m and "materialize it first" in m for m in messages), (
        messages
    )


def test_a_value_that_is_not_a_pydantic_model_is_refused(
    tmp_path: Path, partitioned_instance: dg.DagsterInstance
) -> None:
    with pytest.raises(Exception, match="must return a pydantic model"):
        dg.materialize(
            [not_a_model], partition_key=PARTITION, resources=_io(tmp_path), instance=partitioned_instance
        )
    assert not _stored(tmp_path, PARTITION, "not_a_model").exists()


def test_an_unpartitioned_asset_is_stored_in_its_own_folder(tmp_path: Path) -> None:
    assert dg.materialize([unpartitioned], resources=_io(tmp_path)).success
    assert _stored(tmp_path, "_unpartitioned", "unpartitioned").is_file()


def _causes(error: dg.SerializableErrorInfo) -> list[dg.SerializableErrorInfo]:
    found = []
    while error.cause is not None:
        error = error.cause
        found.append(error)
    return found


def test_temporaries_that_dead_writers_left_are_removed_by_the_next_materialization(
    tmp_path: Path, partitioned_instance: dg.DagsterInstance
) -> None:
    folder = _stored(tmp_path, PARTITION, "measured").parent
    folder.mkdir(parents=True)
    leftovers = [folder / ".measured.json.k1ll3d.tmp", folder / ".checked.json.k1ll3d.tmp"]
    for leftover in leftovers:
        leftover.write_text('{"name": "half')
    dg.materialize(
        [measured], partition_key=PARTITION, resources=_io(tmp_path), instance=partitioned_instance
    )
    assert sorted(path.name for path in folder.iterdir()) == ["measured.json"]


def test_a_temporary_another_step_is_still_writing_is_left_alone(
    tmp_path: Path, partitioned_instance: dg.DagsterInstance
) -> None:
    folder = _stored(tmp_path, PARTITION, "measured").parent
    folder.mkdir(parents=True)
    writing = folder / ".checked.json.l1v3.tmp"
    writing.write_text('{"name": "half')
    with writing.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        dg.materialize(
            [measured], partition_key=PARTITION, resources=_io(tmp_path), instance=partitioned_instance
        )
        assert writing.read_text() == '{"name": "half'
