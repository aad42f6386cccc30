"""The component's own environment: its dependencies, in a virtualenv of its own, with spec2prod's tools.

A component must run with what it declares, not with what spec2prod happens to have installed, and it
must not see spec2prod's own dependencies (dagster, httpx...). `dependencies` reads what the project and
the spec declare; `builder` makes (or reuses) one isolated virtualenv per distinct set; `tools` puts
spec2prod's test tools (pytest, coverage, CrossHair, the outcomes plugin) into it without installing
them into the project.
"""

from spec2prod_assets.environment.builder import (
    ComponentEnvironment,
    EnvironmentBuildError,
    default_cache_root,
    ensure_environment,
)
from spec2prod_assets.environment.dependencies import DependencyError, component_dependencies

__all__ = [
    "ComponentEnvironment",
    "DependencyError",
    "EnvironmentBuildError",
    "component_dependencies",
    "default_cache_root",
    "ensure_environment",
]
