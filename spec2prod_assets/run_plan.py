"""Which spec goes to which stage, in which project: decided and checked before anything runs.

`spec2prod run a.md b.md` used to start Dagster for `a.md` and find the typo in `b.md` half a minute
later. Every spec is now checked up front (parse, source path, tests path, dependencies) and every stage
is decided up front, so bad input costs a second and one line per problem, with nothing started. No
Dagster here: `validate` and a refused `run` never pay its start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from spec2prod_assets.spec.model import ComponentSpec, SpecError, Stage


class StageBeyondTargetError(ValueError):
    """A stage further than the spec's own `target_stage`, asked for without saying so; one line."""


@dataclass(frozen=True)
class PlannedRun:
    """One spec, checked, with the project it belongs to and the stage it goes to."""

    spec_file: Path
    project_root: Path
    spec: ComponentSpec
    stage: Stage


def default_project_root() -> Path:
    """The project when neither `--project-root` nor a spec path names one (`resources.project_root`)."""
    from resources.project_root import default_project_root as configured_root

    return Path(configured_root())


def project_root_for(spec_file: Path, explicit: Path | None) -> Path:
    """`explicit`, else the project the spec file sits in (the parent of its `specs/`), else the default."""
    from spec2prod_assets.spec.catalog import project_root_of  # the parser loads only when a spec is read

    if explicit is not None:
        return explicit.absolute()
    return project_root_of(spec_file) or default_project_root()


def stage_for(spec: ComponentSpec, requested: Stage | None, *, beyond_target: bool) -> Stage:
    """`requested`, else the spec's own target; further than the target only with `beyond_target`."""
    if requested is None:
        return spec.target_stage
    order = list(Stage)
    if order.index(requested) > order.index(spec.target_stage) and not beyond_target:
        raise StageBeyondTargetError(
            f"{spec.spec_path}: stage {requested.value} goes beyond the spec's target stage "
            f"({spec.target_stage.value}); to go further anyway add --beyond-target "
            "(run_workflow: beyond_target=True)"
        )
    return requested


def plan_run(
    spec_file: Path, *, project_root: Path | None, stage: Stage | None, beyond_target: bool
) -> PlannedRun:
    """One spec checked and staged; raises `SpecError` or `StageBeyondTargetError`."""
    from spec2prod_assets.spec.validation import validate_spec_file

    root = project_root_for(spec_file, project_root)
    spec = validate_spec_file(spec_file, root)
    return PlannedRun(spec_file, root, spec, stage_for(spec, stage, beyond_target=beyond_target))


def plan_runs(
    spec_files: Sequence[Path], *, project_root: Path | None, stage: Stage | None, beyond_target: bool
) -> tuple[list[PlannedRun], list[str]]:
    """Every spec checked; returns the runs and one line per problem (a run goes ahead only with none).

    Problems are a bad spec (`bad spec: <file>:<line>: ...`), a stage beyond a spec's target, and two
    specs of one project claiming the same component slug (their runs would share a partition).
    """
    planned: list[PlannedRun] = []
    problems: list[str] = []
    for spec_file in dict.fromkeys(spec_files):
        try:
            planned.append(
                plan_run(spec_file, project_root=project_root, stage=stage, beyond_target=beyond_target)
            )
        except SpecError as exc:
            problems.append(f"bad spec: {exc}")
        except StageBeyondTargetError as exc:
            problems.append(str(exc))
    problems += shared_slug_problems([(run.project_root, run.spec) for run in planned])
    return planned, problems


def shared_slug_problems(specs: Sequence[tuple[Path, ComponentSpec]]) -> list[str]:
    """One line per slug that two different spec files of one project claim."""
    by_slug: dict[tuple[Path, str], list[str]] = {}
    for root, spec in specs:
        paths = by_slug.setdefault((root, spec.slug), [])
        if spec.spec_path not in paths:
            paths.append(spec.spec_path)
    return [
        f"bad spec: {', '.join(paths)}: {len(paths)} specs share the component id {slug!r}; rename one"
        for (_, slug), paths in by_slug.items()
        if len(paths) > 1
    ]
