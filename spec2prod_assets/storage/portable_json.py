"""JSON values that name folders by what they are, not by where one machine mounted them.

Asset values point at artifacts by absolute path (working trees, reports, bundles in the work folder,
sources in the project). A step on another machine mounts the shared work folder, or checks out the
project, at another path, so a stored value must not carry the writer's paths. Before a value is stored,
every string that is a path equal to or under a named base becomes a token relative to that base
(`@work/calculator/runs/<id>/refactor`, `@project/src/calc`); a reader resolves the tokens against its own
bases. Whole strings only: a path inside free text (a log line) is left as it is. The longest matching
base wins (the work folder usually sits inside the project), a prefix must end at a `/` (`/a/bc` is not
under `/a/b`), and a string that merely starts with `@` is stored as `@@...`, so reading gives back
exactly what was written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import TypeAlias

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
_Change: TypeAlias = Callable[[str], str]

_MARK = "@"
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def to_portable(value: JSON, bases: Mapping[str, PurePath]) -> JSON:
    """`value` with each path under a base written as that base's token."""
    ordered = sorted(_checked(bases).items(), key=lambda item: len(item[1]), reverse=True)

    def portable(text: str) -> str:
        for name, base in ordered:
            if text == base:
                return _MARK + name
            if text.startswith(_under(base)):
                return f"{_MARK}{name}/{text[len(_under(base)) :]}"
        return _MARK + text if text.startswith(_MARK) else text

    return _map_strings(value, portable)


def from_portable(value: JSON, bases: Mapping[str, PurePath]) -> JSON:
    """`value` with each token resolved against the reader's bases. A token naming a base the reader does
    not have is left as it is, as is an `@name` string stored before values were portable."""
    named = _checked(bases)

    def resolved(text: str) -> str:
        if not text.startswith(_MARK):
            return text
        if text.startswith(_MARK * 2):
            return text[1:]
        name, slash, rest = text[1:].partition("/")
        if name not in named:
            return text
        return _under(named[name]) + rest if slash else named[name]

    return _map_strings(value, resolved)


def _checked(bases: Mapping[str, PurePath]) -> dict[str, str]:
    for name, base in bases.items():
        if not _NAME.fullmatch(name) or not base.is_absolute():
            raise ValueError(f"base {name!r}={base}: needs a lowercase name and an absolute path")
    return {name: base.as_posix() for name, base in bases.items()}


def _under(base: str) -> str:
    """The prefix of everything strictly under `base` (the root folder is already its own prefix)."""
    return base if base.endswith("/") else base + "/"


def _map_strings(value: JSON, change: _Change) -> JSON:
    """`value` with `change` applied to every string in it, dictionary keys included."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_map_strings(item, change) for item in value]
    if isinstance(value, dict):
        return {change(key): _map_strings(item, change) for key, item in value.items()}
    return value
