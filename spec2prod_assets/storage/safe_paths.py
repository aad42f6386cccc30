"""Paths that come from outside (a spec, a generator's answer, a bundle) checked before anything uses them.

A spec's source path, a generated test file's name and a bundle member's name are all untrusted text
that ends up joined to a folder on disk. The checks live in one module so a fix (a Windows drive letter,
a backslash) reaches every caller at once. Callers word their own messages, since "absolute path" means
something different to the author of a spec and to the reader of a rejected-tests table, so the
lexical check says which rule failed rather than how to say so.

Lexical checks come first and touch nothing; the resolved check follows symlinks on disk, because a
path that reads as relative can still lead out of its root through a link.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path, PurePosixPath

_DRIVE_RE = re.compile(r"^[A-Za-z]:")


class PathFault(Enum):
    """Which rule a path meant to be relative to a root breaks."""

    ABSOLUTE = "absolute"
    PARENT = "parent"
    EMPTY = "empty"


def relative_path_fault(value: str) -> PathFault | None:
    """The first rule `value` breaks, or None when it reads as a path inside its root.

    Backslashes count as separators and `C:` as a drive, so a path written on Windows cannot slip past.
    """
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or _DRIVE_RE.match(value):
        return PathFault.ABSOLUTE
    if ".." in path.parts:
        return PathFault.PARENT
    if str(path) in ("", "."):
        return PathFault.EMPTY
    return None


def check_relative_path(value: str) -> str:
    """`value` as a normalized posix path; ValueError if it is absolute, climbs with `..` or is empty."""
    fault = relative_path_fault(value)
    if fault is PathFault.ABSOLUTE:
        raise ValueError(f"path {value!r} is absolute; give it relative to the project root")
    if fault is PathFault.PARENT:
        raise ValueError(f"path {value!r} escapes the project root ('..')")
    if fault is PathFault.EMPTY:
        raise ValueError("path is empty")
    return str(PurePosixPath(value.replace("\\", "/")))


def is_inside_folder(path: str, folder: str) -> bool:
    """Whether the relative `path` names something below `folder`, not `folder` itself (text only).

    Give it a path `relative_path_fault` accepted: with `..` still in it, the answer means nothing.
    """
    parts = PurePosixPath(path.replace("\\", "/")).parts
    folder_parts = PurePosixPath(folder.replace("\\", "/")).parts
    return len(parts) > len(folder_parts) and parts[: len(folder_parts)] == folder_parts


def resolved_path_problem(root: Path, relative: str, *, what: str, root_name: str) -> str | None:
    """Why `root / relative` is unusable on disk, or None: symlinks resolved, it stays in `root` and exists.

    `what` and `root_name` word the message ("source path", "the project root").
    """
    resolved_root = root.resolve()
    target = (resolved_root / relative).resolve()
    if not target.is_relative_to(resolved_root):
        return f"{what} {relative!r} resolves to {target}, outside {root_name} {resolved_root}"
    if not target.exists():
        return f"{what} {relative!r} does not exist under {root_name} {resolved_root}"
    return None
