"""What a component needs installed to run its tests: read from the project and the spec, never guessed.

Sources, all merged: `[project].dependencies` of the project's pyproject.toml, the test groups it
declares (`[project.optional-dependencies]` and `[dependency-groups]` named test, tests, testing or
dev), every `requirements*.txt` at the project root (with their `-r` includes), and the spec's
`dependencies:`. The project itself is NOT installed: its source runs from the working copy on
PYTHONPATH, so the tests exercise the files spec2prod copied, refactored and bundled, never an installed
copy of them. A requirement on the project itself (`myproject[test]` in a dev group) is therefore
dropped, and the extras it names are read in its place.

Everything is checked with `packaging`; whatever cannot be honoured (an index option, `-e .`, a hash)
is refused with one line naming the file and line, rather than silently ignored.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

TEST_GROUPS = frozenset({"test", "tests", "testing", "dev"})
"""Optional-dependency and dependency-group names whose requirements the component's tests may need."""

_INCLUDE_OPTIONS = ("-r", "--requirement")
_PER_REQUIREMENT_OPTION = re.compile(r"\s(--?[A-Za-z][^\s]*)")


class DependencyError(ValueError):
    """A declared dependency spec2prod cannot honour; the message names where it was declared."""


def component_dependencies(project_root: Path, spec_dependencies: Sequence[str]) -> tuple[str, ...]:
    """Every requirement the component declares, validated, deduplicated and sorted by name."""
    found: list[Requirement] = []
    pyproject = project_root / "pyproject.toml"
    if pyproject.is_file():
        found += _pyproject_requirements(pyproject)
    for requirements_file in sorted(project_root.glob("requirements*.txt")):
        if requirements_file.is_file():
            found += _requirements_file(requirements_file, seen=frozenset())
    for text in spec_dependencies:
        found.append(parse_requirement(text, "the spec's dependencies"))
    unique = {str(requirement): requirement for requirement in found}
    return tuple(sorted(unique, key=lambda text: (canonicalize_name(unique[text].name), text)))


def _pyproject_requirements(path: Path) -> list[Requirement]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DependencyError(f"{path}: cannot be read as TOML: {exc}") from exc
    project = _table(data.get("project"), path, "[project]")
    reader = _ProjectReader(path, project)
    found = reader.requirements(_strings(project.get("dependencies"), path, "[project].dependencies"), "")
    if "dependencies" in _strings(project.get("dynamic"), path, "[project].dynamic"):
        found += _dynamic_dependencies(path, data)
    for extra in sorted(name for name in reader.extras if name in TEST_GROUPS):
        found += reader.extra(extra)
    groups = _table(data.get("dependency-groups"), path, "[dependency-groups]")
    normalized: dict[str, Any] = {canonicalize_name(name): value for name, value in groups.items()}
    for group in sorted(name for name in normalized if name in TEST_GROUPS):
        found += reader.group(normalized, group, stack=())
    return found


def _dynamic_dependencies(path: Path, data: Mapping[str, Any]) -> list[Requirement]:
    """`dynamic = ["dependencies"]`, read from the files setuptools names; anything else needs the build
    backend to run, so it is refused unless requirements*.txt at the root (read anyway) can hold them."""
    setuptools = _table(_table(data.get("tool"), path, "[tool]").get("setuptools"), path, "[tool.setuptools]")
    dynamic = _table(setuptools.get("dynamic"), path, "[tool.setuptools.dynamic]").get("dependencies")
    files = dynamic.get("file") if isinstance(dynamic, dict) else None
    names = [files] if isinstance(files, str) else _strings(files, path, "dynamic dependencies' file")
    if not names:
        if any(path.parent.glob("requirements*.txt")):
            return []
        raise DependencyError(
            f"{path}: the project's dependencies are dynamic and spec2prod cannot read them without building "
            "the project; list them in [project].dependencies, a requirements.txt or the spec's dependencies"
        )
    found: list[Requirement] = []
    for name in names:
        found += _requirements_file(path.parent / name, seen=frozenset())
    return found


class _ProjectReader:
    """Reads one pyproject.toml's requirements, replacing a requirement on the project itself (which is
    never installed) by the extras it names; each extra is read once, so extras that name each other end."""

    def __init__(self, path: Path, project: Mapping[str, Any]) -> None:
        self.path = path
        self.own_name = canonicalize_name(str(project["name"])) if project.get("name") else None
        optional = _table(project.get("optional-dependencies"), path, "[project.optional-dependencies]")
        self.extras: dict[str, list[str]] = {
            canonicalize_name(name): _strings(value, path, f"[project.optional-dependencies].{name}")
            for name, value in optional.items()
        }
        self._read: set[str] = set()

    def requirements(self, texts: Iterable[str], group: str) -> list[Requirement]:
        source = f"{self.path} {group}" if group else f"{self.path} [project].dependencies"
        found: list[Requirement] = []
        for text in texts:
            requirement = parse_requirement(text, source)
            if self.own_name is not None and canonicalize_name(requirement.name) == self.own_name:
                for extra in sorted(requirement.extras):
                    found += self.extra(canonicalize_name(extra))
            else:
                found.append(requirement)
        return found

    def extra(self, name: str) -> list[Requirement]:
        if name in self._read:
            return []
        self._read.add(name)
        return self.requirements(self.extras.get(name, []), f"optional dependencies '{name}'")

    def group(self, groups: Mapping[str, Any], name: str, stack: tuple[str, ...]) -> list[Requirement]:
        """A PEP 735 dependency group, its `{include-group = ...}` entries followed (a cycle is refused)."""
        if name in stack:
            raise DependencyError(f"{self.path}: dependency group '{name}' includes itself")
        if name not in groups:
            raise DependencyError(
                f"{self.path}: dependency group '{stack[-1]}' includes '{name}', which is missing"
            )
        entries = groups[name]
        if not isinstance(entries, list):
            raise DependencyError(f"{self.path}: [dependency-groups].{name} must be a list")
        found: list[Requirement] = []
        for entry in entries:
            if isinstance(entry, dict) and set(entry) == {"include-group"}:
                found += self.group(groups, canonicalize_name(str(entry["include-group"])), (*stack, name))
            elif isinstance(entry, str):
                found += self.requirements([entry], f"dependency group '{name}'")
            else:
                raise DependencyError(
                    f"{self.path}: [dependency-groups].{name} holds {entry!r}, not a requirement"
                )
        return found


def _requirements_file(path: Path, seen: frozenset[Path]) -> list[Requirement]:
    """A pip requirements file: requirements, comments, line continuations and `-r` includes."""
    resolved = path.resolve()
    if resolved in seen:
        raise DependencyError(f"{path}: included again by itself (a -r cycle)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DependencyError(f"{path}: cannot be read: {exc}") from exc
    found: list[Requirement] = []
    for number, line in _logical_lines(text):
        where = f"{path}:{number}"
        if line.startswith("-"):
            include = _include_target(line)
            if include is None:
                raise DependencyError(
                    f"{where}: option {line.split()[0]!r} cannot be honoured: {_option_hint(line)}"
                )
            found += _requirements_file(path.parent / include, seen | {resolved})
            continue
        option = _PER_REQUIREMENT_OPTION.search(line)
        if option is not None:
            raise DependencyError(
                f"{where}: per-requirement option {option.group(1)!r} cannot be honoured; remove it"
            )
        found.append(parse_requirement(line, where))
    return found


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(first line number, content) per logical line: comments stripped, `\\` continuations joined."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if line.lstrip().startswith("#"):
            line = ""
        elif " #" in line or "\t#" in line:
            line = line[: min(i for i in (line.find(" #"), line.find("\t#")) if i >= 0)]
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical = (pending + line).strip()
        pending = ""
        if logical:
            yield start, logical
    if pending.strip():
        yield start, pending.strip()


def _include_target(line: str) -> str | None:
    for option in _INCLUDE_OPTIONS:
        if line.startswith(option + "="):
            return line[len(option) + 1 :].strip() or None
        if line.startswith(option + " ") or line.startswith(option + "\t"):
            return line[len(option) :].strip() or None
    return None


def _option_hint(line: str) -> str:
    option = line.split()[0].split("=")[0]
    if option in ("-e", "--editable"):
        return "spec2prod never installs the project itself (it runs from the working copy on PYTHONPATH)"
    if option in ("-c", "--constraint"):
        return "constraint files are not supported; pin the versions in the requirements instead"
    return "only requirements and -r includes are read; set index options through uv's own UV_* variables"


def parse_requirement(text: str, source: str) -> Requirement:
    """`text` as a PEP 508 requirement, or a `DependencyError` naming `source` and the problem."""
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise DependencyError(f"{source}: {text!r} is not a valid requirement: {reason}") from None


def _table(value: Any, path: Path, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DependencyError(f"{path}: {name} must be a table")
    return value


def _strings(value: Any, path: Path, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DependencyError(f"{path}: {name} must be a list of requirement strings")
    return list(value)
