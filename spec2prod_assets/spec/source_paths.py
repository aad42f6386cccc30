"""Checks on where a spec points, resolved on disk (the parser only checks the text)."""

from __future__ import annotations

from pathlib import Path


def source_path_problem(project_root: Path, source_path: str) -> str | None:
    """Why `source_path` is unusable, or None: it must exist and, symlinks resolved, stay inside the root."""
    root = project_root.resolve()
    target = (root / source_path).resolve()
    if not target.is_relative_to(root):
        return f"source path {source_path!r} resolves to {target}, outside the project root {root}"
    if not target.exists():
        return f"source path {source_path!r} does not exist under the project root {root}"
    return None
