"""Working copies of a component: every stage that runs or changes code does it in a copy.

The user's source tree is never written to; a copy also gives each run a clean folder with no stale
coverage data or bytecode. Copies never follow a link out of the project: a link that leads outside
(`keys.py -> ~/.ssh/...`, a tests folder linked elsewhere) is refused with `LinkOutsideProject`, so nothing
outside the project is ever read into a copy, uploaded or bundled. A link whose target lies inside is copied
as the file it points to: a link kept in a copy could let a tool that writes the copy (ruff) write
through it into the project.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Protocol

# Caches, bytecode and coverage data: left out of every copy, and of every digest of a tree's content.
NOT_COPIED = ("__pycache__", "*.pyc", ".coverage", ".coverage.*", ".pytest_cache", "*.egg-info")
_IGNORED = shutil.ignore_patterns(*NOT_COPIED)


def not_copied(name: str) -> bool:
    """Whether a file or folder of this name is left out of copies (`NOT_COPIED`)."""
    return any(fnmatch.fnmatch(name, pattern) for pattern in NOT_COPIED)


class ComponentPaths(Protocol):
    """Where a component lives in its project; a resolved layout is one (storage never imports it)."""

    @property
    def spec_path(self) -> str: ...
    @property
    def source_path(self) -> str: ...
    @property
    def test_paths(self) -> tuple[str, ...]: ...
    @property
    def config_files(self) -> tuple[str, ...]: ...


class ComponentTreeError(FileNotFoundError):
    """The component's source or tests are not where its spec says."""


class LinkOutsideProject(ValueError):
    """A symlink in the component leads out of the project; copying it would read a file from outside."""


def copy_component(project_root: Path, layout: ComponentPaths, destination: Path) -> Path:
    """Copy the component's source, tests and the project's configuration files into `destination` (which
    must not exist), same layout: pytest, coverage.py and ruff then read the project's settings there."""
    if destination.exists():
        raise FileExistsError(f"working copy {destination} already exists; runs never reuse a folder")
    source = project_root / layout.source_path
    if not source.exists():
        raise ComponentTreeError(
            f"{layout.spec_path}: source path {layout.source_path!r} does not exist under {project_root}"
        )
    parts = [(source, layout.source_path)]
    for relative in (*layout.test_paths, *layout.config_files):
        path = project_root / relative
        if path.exists() or path.is_symlink():
            parts.append((path, relative))
    for path, _ in parts:  # every link checked before anything is written: no half-made copy
        check_links(path, project_root, layout.spec_path)
    destination.mkdir(parents=True)
    for path, relative in parts:
        if not (destination / relative).exists():  # a test path inside the source is already there
            _copy(path, destination / relative)
    return destination


def check_links(path: Path, project_root: Path, context: str) -> None:
    """`LinkOutsideProject` if `path`, or anything under it, is a link that resolves outside the project."""
    root = project_root.resolve()
    candidates = [path]
    if path.is_dir() and not path.is_symlink():
        candidates += [
            Path(folder) / name for folder, dirs, files in os.walk(path) for name in (*dirs, *files)
        ]
    for candidate in candidates:
        if candidate.is_symlink() and not candidate.resolve().is_relative_to(root):
            shown = (
                candidate.relative_to(project_root) if candidate.is_relative_to(project_root) else candidate
            )
            raise LinkOutsideProject(
                f"{context}: {shown} is a symlink to {os.readlink(candidate)}, outside the project {root}; "
                "spec2prod never copies files from outside the project"
            )


def copy_tree(source: Path, destination: Path) -> Path:
    """A copy of a working tree (e.g. to refactor it) without caches or coverage data.

    The tree was written by code under test: a link it planted that leads out of the tree is refused."""
    check_links(source, source, f"working tree {source}")
    shutil.copytree(source, destination, ignore=_IGNORED)
    return destination


def import_root(source_path: str) -> str:
    """The folder that goes on PYTHONPATH so `import <package>` finds the component: its parent."""
    parent = PurePosixPath(source_path).parent
    return str(parent) if str(parent) else "."


def relative_to_tree(path: str | Path, tree: Path) -> str:
    """`path` relative to `tree` in POSIX form, so coverage.py's JSON report and its data file agree.

    Lexical first, then with links resolved (a temporary folder reached through a symlink); a relative
    path, or one outside the tree, comes back as given.
    """
    candidate = Path(path)
    if not candidate.is_absolute():
        return candidate.as_posix()
    for inner, outer in ((candidate, tree), (candidate.resolve(), tree.resolve())):
        if inner.is_relative_to(outer):
            return inner.relative_to(outer).as_posix()
    return candidate.as_posix()


def python_files(tree: Path, relative_dir: str) -> list[str]:
    """Python files under `relative_dir` of `tree`, relative to `tree`, sorted."""
    base = tree / relative_dir
    if base.is_file():
        return [relative_dir] if base.suffix == ".py" else []
    return sorted(
        path.relative_to(tree).as_posix() for path in base.rglob("*.py") if "__pycache__" not in path.parts
    )


def _copy(source: Path, destination: Path) -> None:
    """Links are followed: `check_links` has made sure they all point inside the project."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination, ignore=_IGNORED)
    else:
        shutil.copy2(source, destination)
