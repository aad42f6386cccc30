"""spec2prod's test tools inside a component's environment, without installing them into the project.

Every run in the component's environment needs pytest, pytest-cov, coverage, pytest-random-order and
pytest-repeat (the funnel's reliability run repeats every test in one shuffled session), CrossHair and
spec2prod's outcomes plugin, at exactly the versions spec2prod runs with. They are not downloaded: the
environment gets a folder of links to the files of spec2prod's own installed distributions (the tools
and what they require, nothing else) and a `.pth` file naming that folder. So a cold build needs no
network, and the component still cannot import dagster, httpx or anything else spec2prod depends on.

A `.pth` folder comes after site-packages on `sys.path`: when the project pins its own version of a tool
(pytest, pluggy...), its installed pin wins, and spec2prod's copy is only the fallback.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

TOOL_DISTRIBUTIONS = (
    "pytest",
    "pytest-cov",
    "coverage",
    "pytest-random-order",
    "pytest-repeat",
    "crosshair-tool",
    "mutmut",
)
PLUGIN_MODULE = "spec2prod_assets.testing.outcomes_plugin"
TOOLS_FOLDER = "spec2prod-tools"
PTH_NAME = "_spec2prod_tools.pth"


class ToolsUnavailable(RuntimeError):
    """spec2prod's own tools cannot be found in its installation (a broken or partial install)."""


@dataclass(frozen=True)
class ToolSet:
    """What a component's environment links to: top-level name -> file or folder of spec2prod's install."""

    versions: tuple[tuple[str, str], ...]
    entries: tuple[tuple[str, Path], ...]
    plugin_files: tuple[tuple[str, Path], ...]

    @property
    def source_roots(self) -> tuple[Path, ...]:
        """The folders the links lead into: a sandbox must keep them readable."""
        roots = {path.parent for _, path in self.entries}
        roots |= {path.parents[len(Path(name).parts) - 1] for name, path in self.plugin_files}
        return tuple(sorted(roots))


@functools.cache
def tool_set() -> ToolSet:
    """The tools' distributions and everything they require here (markers evaluated, extras not taken)."""
    versions: dict[str, str] = {}
    entries: dict[str, Path] = {}
    pending = list(TOOL_DISTRIBUTIONS)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in versions:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise ToolsUnavailable(f"spec2prod's tool {name!r} is not installed beside spec2prod") from None
        versions[name] = distribution.version
        entries.update(_top_level_entries(distribution))
        for text in distribution.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return ToolSet(
        versions=tuple(sorted(versions.items())),
        entries=tuple(sorted(entries.items())),
        plugin_files=_plugin_files(),
    )


def _top_level_entries(distribution: importlib.metadata.Distribution) -> dict[str, Path]:
    """The files and folders a distribution put directly into site-packages (not its scripts)."""
    files = distribution.files
    if files is None:
        raise ToolsUnavailable(f"{distribution.metadata['Name']} has no RECORD: its files cannot be listed")
    entries: dict[str, Path] = {}
    for file in files:
        top = file.parts[0]
        if top in ("..", "__pycache__") or top.endswith(".pth"):
            continue
        path = Path(str(distribution.locate_file(top)))
        if path.exists():
            entries[top] = path
    return entries


def _plugin_files() -> tuple[tuple[str, Path], ...]:
    """The outcomes plugin and its packages' `__init__` files (it imports only pytest and the stdlib)."""
    found: list[tuple[str, Path]] = []
    parts = PLUGIN_MODULE.split(".")
    for depth in range(1, len(parts) + 1):
        module = ".".join(parts[:depth])
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise ToolsUnavailable(f"spec2prod's module {module} cannot be found")
        suffix = "__init__.py" if depth < len(parts) else ""
        relative = "/".join(parts[:depth]) + ("/" + suffix if suffix else ".py")
        found.append((relative, Path(spec.origin).resolve()))
    return tuple(found)


def site_packages(env_root: Path) -> Path:
    """The environment's site-packages folder (a POSIX virtualenv of this interpreter's version)."""
    return env_root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def link_tools(env_root: Path, tools: ToolSet) -> None:
    """Link the tools into `env_root/spec2prod-tools` and name that folder in a `.pth` file.

    The `.pth` line is relative to site-packages, so the environment still works after the rename
    that puts it in place.
    """
    folder = env_root / TOOLS_FOLDER
    folder.mkdir()
    for name, target in tools.entries:
        (folder / name).symlink_to(target, target_is_directory=target.is_dir())
    for relative, target in tools.plugin_files:
        link = folder / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    site = site_packages(env_root)
    if not site.is_dir():
        raise ToolsUnavailable(f"{env_root} has no {site.relative_to(env_root)} folder")
    (site / PTH_NAME).write_text(os.path.relpath(folder, site) + "\n", encoding="utf-8")


def tools_intact(env_root: Path) -> bool:
    """Whether every link into spec2prod's install still leads somewhere (an upgrade may have moved it)."""
    folder = env_root / TOOLS_FOLDER
    if not (site_packages(env_root) / PTH_NAME).is_file() or not folder.is_dir():
        return False
    return all(path.exists() for path in folder.rglob("*"))
