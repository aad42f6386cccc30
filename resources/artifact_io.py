"""Asset values as JSON, one file per asset and partition, readable by a step on any machine.

Assets hand each other small typed records (pydantic models) that point at the real artifacts
(working trees, reports, bundles) by path and hash. JSON keeps runs readable by people and independent of
the executor: a step in another process, on another machine, or a later run reads exactly what the
upstream step wrote. Paths under the work folder or the project are stored relative to them
(`storage/portable_json`) and resolved against the reader's own, so a machine that mounts the shared work
folder or checks out the project elsewhere still finds the artifacts.

Values live under `ProjectResource.values_folder` (the work folder unless $SPEC2PROD_VALUES_URL or
`values_url` names a folder or an object store). In a local folder a value is written atomically; a step
killed mid-write leaves a locked-then-abandoned temporary, which the next value written to the same
folder removes unless a live step holds it.
"""

import json
from pathlib import Path, PurePath
from typing import Any, TypeVar

import dagster as dg
from pydantic import BaseModel, TypeAdapter
from upath import UPath

from resources.project import ProjectResource
from spec2prod_assets.storage.atomic_files import remove_abandoned_temporaries, write_text_atomically
from spec2prod_assets.storage.portable_json import from_portable, to_portable

_T = TypeVar("_T")


def read_stored_value(project: ProjectResource, partition: str, asset: str, value_type: type[_T]) -> _T:
    """The value an asset last stored for a partition: how an input is loaded, and how a step that runs
    several assets reads an earlier one that this run did not select (a re-execution of its later part)."""
    location = stored_value_location(project, partition, asset)
    if not location.is_file():
        raise dg.Failure(f"No stored value for {asset} at {location}: materialize it first.")
    value = from_portable(json.loads(location.read_text(encoding="utf-8")), _bases(project))
    return TypeAdapter(value_type).validate_json(json.dumps(value))


def store_value(project: ProjectResource, partition: str, asset: str, value: BaseModel) -> Path | UPath:
    """Store `value` where `read_stored_value` finds it, without this machine's work-folder or project
    paths; returns where it went."""
    location = stored_value_location(project, partition, asset)
    portable = to_portable(value.model_dump(mode="json"), _bases(project))
    text = json.dumps(portable, indent=2, ensure_ascii=False)
    if isinstance(location, Path):
        if location.parent.is_dir():
            remove_abandoned_temporaries(location.parent, ".*.json.*.tmp")
        return write_text_atomically(location, text)
    # An object store writes each object whole (a reader sees the old one or the new one), so one
    # write_text is as atomic there as the temporary-and-rename is in a folder.
    location.parent.mkdir(parents=True, exist_ok=True)
    location.write_text(text, encoding="utf-8")
    return location


def stored_value_location(project: ProjectResource, partition: str, asset: str) -> Path | UPath:
    """`<values>/<partition>/assets/<asset>.json`: the work folder's layout, under the values base."""
    work = project.work_folder
    relative = work.asset_value(partition, asset).relative_to(work.path)
    return project.values_folder.joinpath(*relative.parts)


def _bases(project: ProjectResource) -> dict[str, PurePath]:
    return {"work": project.work_path, "project": project.root_path}


class ArtifactIOManager(dg.ConfigurableIOManager):
    """Stores each asset's pydantic value as `<values>/<partition>/assets/<asset>.json`."""

    project: ProjectResource

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        if not isinstance(obj, BaseModel):
            raise TypeError(
                f"{context.asset_key.to_user_string()} must return a pydantic model, got {type(obj)}"
            )
        location = store_value(self.project, _partition(context), context.asset_key.to_user_string(), obj)
        context.add_output_metadata({"artifact": dg.MetadataValue.path(str(location))})

    def load_input(self, context: dg.InputContext) -> Any:
        return read_stored_value(
            self.project,
            _partition(context),
            context.asset_key.to_user_string(),
            context.dagster_type.typing_type,
        )


def _partition(context: dg.OutputContext | dg.InputContext) -> str:
    return context.partition_key if context.has_partition_key else "_unpartitioned"
