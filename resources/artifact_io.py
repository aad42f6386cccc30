"""Asset values as JSON files in the project's work folder, one per asset and partition.

Assets hand each other small typed records (pydantic models) that point at the real artifacts
(working trees, reports, bundles) by path and hash. JSON on disk, written atomically, keeps runs
readable by people and independent of the executor: a step in another process, or a later run,
reads exactly what the upstream step wrote. A step killed mid-write leaves a locked-then-abandoned
temporary; the next value written to the same folder removes every such one that no live step holds.
"""

from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
from pydantic import BaseModel, TypeAdapter

from resources.project import ProjectResource
from spec2prod_assets.storage.atomic_files import remove_abandoned_temporaries, write_text_atomically

_T = TypeVar("_T")


def read_stored_value(project: ProjectResource, partition: str, asset: str, value_type: type[_T]) -> _T:
    """The value an asset last stored for a partition: how an input is loaded, and how a step that runs
    several assets reads an earlier one that this run did not select (a re-execution of its later part)."""
    path = project.work_folder.asset_value(partition, asset)
    if not path.is_file():
        raise dg.Failure(f"No stored value for {asset} at {path}: materialize it first.")
    return TypeAdapter(value_type).validate_json(path.read_bytes())


class ArtifactIOManager(dg.ConfigurableIOManager):
    """Stores each asset's pydantic value as `<work>/<partition>/assets/<asset>.json`."""

    project: ProjectResource

    def _path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        partition = context.partition_key if context.has_partition_key else "_unpartitioned"
        return self.project.work_folder.asset_value(partition, context.asset_key.to_user_string())

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        if not isinstance(obj, BaseModel):
            raise TypeError(
                f"{context.asset_key.to_user_string()} must return a pydantic model, got {type(obj)}"
            )
        path = self._path(context)
        if path.parent.is_dir():
            remove_abandoned_temporaries(path.parent, ".*.json.*.tmp")
        write_text_atomically(path, obj.model_dump_json(indent=2))
        context.add_output_metadata({"artifact": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> Any:
        partition = context.partition_key if context.has_partition_key else "_unpartitioned"
        return read_stored_value(
            self.project, partition, context.asset_key.to_user_string(), context.dagster_type.typing_type
        )
