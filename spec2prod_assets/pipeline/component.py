"""What every stage that runs the component needs first: its layout in the project and its environment.

Each stage resolves them itself rather than receiving them from upstream: assets hand each other only
small records, and the environment is cached by a hash of its dependencies, so asking again is cheap
(milliseconds when it exists). A bad project file, dependency or failed build fails the stage with its
one-line reason, not a stack trace.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from spec2prod_assets.environment import (
    ComponentEnvironment,
    DependencyError,
    EnvironmentBuildError,
    component_dependencies,
    ensure_environment,
)
from spec2prod_assets.project.layout import ComponentLayout, resolve_layout
from spec2prod_assets.project.pytest_config import ProjectConfigError
from spec2prod_assets.spec.model import ComponentSpec


def prepare_component(
    project_root: Path, spec: ComponentSpec
) -> tuple[ComponentLayout, ComponentEnvironment]:
    """The component's layout, run with its own environment's interpreter, and that environment."""
    try:
        layout = resolve_layout(project_root, spec)
        environment = ensure_environment(component_dependencies(project_root, spec.dependencies))
    except (ProjectConfigError, DependencyError) as exc:
        raise dg.Failure(description=str(exc)) from exc
    except EnvironmentBuildError as exc:
        reason, _, details = str(exc).partition("\n")
        raise dg.Failure(
            description=reason,
            metadata={"installer_output": dg.MetadataValue.md(f"```\n{details[-3000:]}\n```")},
        ) from exc
    readable = tuple(str(root) for root in environment.readable_roots)
    return layout.with_environment(environment.python, readable), environment
