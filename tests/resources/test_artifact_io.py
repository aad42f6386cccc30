"""The JSON artifact IO manager: pydantic values through a real partitioned materialization and back,
stored without the writer's paths so a step on another machine (other mounts, another checkout, an
object store for the values) reads them."""

from __future__ import annotations

import fcntl
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import fsspec
import pytest
from pydantic import BaseModel
from upath import UPath

from resources.artifact_io import ArtifactIOManager, read_stored_value, store_value
from resources.env_vars import EnvVarError
from resources.project import VALUES_URL_ENV, ProjectResource
from spec2prod_assets.refactor.refactoring import RefactorResult
from tests.conftest import SPECS_PARTITION, copy_demo
from tests.support.pipeline_steps import materialize_stages

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


class Located(BaseModel):
    tree: Path
    source: str
    elsewhere: str


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A private folder of fsspec's in-process memory file system, removed afterwards."""
    url = f"memory://spec2prod-test-{uuid.uuid4().hex}/values"
    yield url
    memory = fsspec.filesystem("memory")
    root = UPath(url).parent.path
    if memory.exists(root):
        memory.rm(root, recursive=True)


def _project(tmp_path: Path, values_url: str | None = None) -> ProjectResource:
    return ProjectResource(
        root=str(tmp_path / "project"), work_dir=str(tmp_path / "work"), values_url=values_url
    )


def _io(tmp_path: Path, values_url: str | None = None) -> dict[str, object]:
    return {"io_manager": ArtifactIOManager(project=_project(tmp_path, values_url))}


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


@pytest.mark.parametrize("at_a_url", [False, True], ids=["work-folder", "fsspec-url"])
def test_a_later_run_reads_what_an_earlier_run_stored(
    tmp_path: Path, partitioned_instance: dg.DagsterInstance, request: pytest.FixtureRequest, at_a_url: bool
) -> None:
    resources = _io(tmp_path, request.getfixturevalue("memory_url") if at_a_url else None)
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


def test_paths_under_the_work_folder_and_project_are_stored_relative_and_read_against_the_readers(
    tmp_path: Path,
) -> None:
    writer = _project(tmp_path / "a")
    value = Located(
        tree=writer.work_path / "calculator" / "runs" / "r1" / "refactor",
        source=str(writer.root_path / "src" / "calc"),
        elsewhere="/usr/lib/python3",
    )
    stored = store_value(writer, PARTITION, "located", value)
    assert isinstance(stored, Path)
    assert json.loads(stored.read_text(encoding="utf-8")) == {
        "tree": "@work/calculator/runs/r1/refactor",
        "source": "@project/src/calc",
        "elsewhere": "/usr/lib/python3",
    }
    reader = _project(tmp_path / "b")
    shutil.copytree(writer.work_path, reader.work_path)
    assert read_stored_value(reader, PARTITION, "located", Located) == Located(
        tree=reader.work_path / "calculator" / "runs" / "r1" / "refactor",
        source=str(reader.root_path / "src" / "calc"),
        elsewhere="/usr/lib/python3",
    )


def test_values_go_to_an_fsspec_url_and_come_back_through_the_io_manager(
    tmp_path: Path, memory_url: str, partitioned_instance: dg.DagsterInstance
) -> None:
    result = dg.materialize(
        [measured, checked],
        partition_key=PARTITION,
        resources=_io(tmp_path, memory_url),
        instance=partitioned_instance,
    )
    assert result.success
    assert result.output_for_node("checked").name == "checked coverage"
    stored = f"{memory_url}/{PARTITION}/assets/measured.json"
    with fsspec.open(stored, "r", encoding="utf-8") as handle:
        assert json.load(handle) == {"name": "coverage", "values": [43.75, 0.5], "passed": False}
    [event, _] = result.get_asset_materialization_events()
    assert event.materialization.metadata["artifact"].value == stored
    assert not (tmp_path / "work").exists()


def test_the_values_url_comes_from_the_environment_when_not_configured(
    tmp_path: Path, memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VALUES_URL_ENV, memory_url)
    store_value(_project(tmp_path), PARTITION, "measured", Measurement(name="m", values=(), passed=True))
    assert fsspec.filesystem("memory").isfile(UPath(f"{memory_url}/{PARTITION}/assets/measured.json").path)


def test_a_missing_value_under_a_url_fails_naming_the_asset_and_the_url(
    tmp_path: Path, memory_url: str
) -> None:
    with pytest.raises(dg.Failure, match=f"No stored value for measured at {memory_url}/{PARTITION}/"):
        read_stored_value(_project(tmp_path, memory_url), PARTITION, "measured", Measurement)


def test_a_file_url_is_a_local_folder_written_atomically(tmp_path: Path) -> None:
    project = _project(tmp_path, f"file://{tmp_path / 'values'}")
    stored = store_value(project, PARTITION, "measured", Measurement(name="m", values=(), passed=True))
    assert stored == tmp_path / "values" / PARTITION / "assets" / "measured.json"
    assert isinstance(stored, Path) and stored.is_file()


@pytest.mark.parametrize("url", ["nosuch://bucket/values", "s3x://bucket/values"])
def test_an_unknown_protocol_in_the_variable_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv(VALUES_URL_ENV, url)
    with pytest.raises(EnvVarError) as caught:
        read_stored_value(_project(tmp_path), PARTITION, "measured", Measurement)
    assert caught.value.name == VALUES_URL_ENV
    message = str(caught.value)
    assert message.startswith(f"{VALUES_URL_ENV}={url!r}: must be a folder or an fsspec URL")
    assert "\n" not in message


def test_an_unknown_protocol_in_the_field_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^values_url='nosuch://b': must be a folder or an fsspec URL"):
        _ = _project(tmp_path, "nosuch://b").values_folder


@dataclass(frozen=True)
class Machines:
    """Step 1 ran on a first machine (project P1, its work folder inside it); the project was then checked
    out at P2 and the work folder mounted at B, where a second machine ran refactored_code."""

    everything: Path
    second: ProjectResource
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machines]:
    everything = tmp_path_factory.mktemp("machines")
    first = ProjectResource(root=str(copy_demo(everything / "first" / "demo")))
    second = ProjectResource(
        root=str(everything / "second" / "checkout"), work_dir=str(everything / "second" / "mnt" / "work")
    )
    with pytest.MonkeyPatch.context() as patch, dg.DagsterInstance.ephemeral() as instance:
        patch.delenv(VALUES_URL_ENV, raising=False)
        instance.add_dynamic_partitions(SPECS_PARTITION, [PARTITION])
        step_one = materialize_stages(
            ["spec", "baseline_tests"], project=first, partition=PARTITION, instance=instance
        )
        assert step_one.success, [e.message for e in step_one.all_events if e.is_failure]
        shutil.move(first.work_path, second.work_path)
        shutil.move(first.root_path, second.root_path)
        result = materialize_stages(
            ["refactored_code"], project=second, partition=PARTITION, instance=instance
        )
        yield Machines(everything, second, result)


def test_stored_values_hold_no_absolute_path_of_either_machine(machines: Machines) -> None:
    stored = sorted((machines.second.work_path / PARTITION / "assets").glob("*.json"))
    assert [path.stem for path in stored] == ["baseline_tests", "refactored_code", "spec"]
    for path in stored:
        assert str(machines.everything) not in path.read_text(encoding="utf-8"), path.name
    refactored = json.loads(stored[1].read_text(encoding="utf-8"))
    assert refactored["tree_path"].startswith(f"@work/{PARTITION}/runs/")


def test_a_step_on_the_second_machine_reads_the_first_ones_values_and_points_into_its_own_mount(
    machines: Machines,
) -> None:
    assert machines.result.success, [e.message for e in machines.result.all_events if e.is_failure]
    loaded = read_stored_value(machines.second, PARTITION, "refactored_code", RefactorResult)
    for path in (Path(loaded.tree_path), Path(loaded.patch_path)):
        assert path.is_relative_to(machines.second.work_path) and path.exists(), path


def test_a_third_machine_finds_the_artifacts_under_its_own_mount(machines: Machines, tmp_path: Path) -> None:
    third = ProjectResource(root=str(machines.second.root_path), work_dir=str(tmp_path / "other-mount"))
    shutil.copytree(machines.second.work_path, third.work_path)
    loaded = read_stored_value(third, PARTITION, "refactored_code", RefactorResult)
    assert Path(loaded.tree_path).is_relative_to(third.work_path)
    assert (Path(loaded.tree_path) / "src" / "calculator" / "operations.py").is_file()
