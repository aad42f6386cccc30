"""Checks on where a spec points, resolved on disk (the parser only checks the text)."""

from __future__ import annotations

from pathlib import Path

from spec2prod_assets.storage.safe_paths import resolved_path_problem


def source_path_problem(project_root: Path, source_path: str) -> str | None:
    """Why `source_path` is unusable, or None: it must exist and, symlinks resolved, stay inside the root."""
    return resolved_path_problem(project_root, source_path, what="source path", root_name="the project root")
