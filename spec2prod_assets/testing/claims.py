"""Which spec ids (`AC-2`, `FR-1`) each test claims to check, read from the test files without running them.

Tests are untrusted code: importing one to read its marks would run it outside the sandbox. So the files
are parsed with `ast`, and a claim is what pytest itself would see for the usual spellings: a
`spec(...)` mark on the function, on its class (or a same-file base class, as pytest reads marks along
the MRO) or in a module's or class's `pytestmark`, written as `pytest.mark.spec`, `<alias>.mark.spec` or
`mark.spec` after `from pytest import mark`; plus ids named in the test's docstring. A mark built at run
time (`spec = pytest.mark.spec`, `pytest.param(..., marks=...)`) is not seen: such a test claims nothing.

Docstrings are prose, so only ids the spec has count there, and only as whole words: `AC-2` is not read
in `AC-20` or `AC-2.1`. A mark naming an id the spec lacks is kept apart (`unknown`), as a typo to report.
Ids match the spec's case-insensitively, as the parser keeps them unique that way, and come back as the
spec spells them.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

# pytest's default `python_files`; a project that sets its own passes them in.
DEFAULT_TEST_FILES = ("test_*.py", "*_test.py")
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FILES = 5000
_SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules", "venv", "build", "dist"})
# A same-file base class chain deeper than this is not followed (pytest would; a test file never needs it).
_MAX_BASES_DEPTH = 20
_MARKER = "spec"


class UnreadableFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    problem: str


class Claims(BaseModel):
    """Test node id (`path::Class::test`, without parameters) -> the spec ids it claims."""

    model_config = ConfigDict(frozen=True)

    tests: Mapping[str, frozenset[str]] = {}
    unknown: Mapping[str, frozenset[str]] = {}
    unreadable: tuple[UnreadableFile, ...] = ()

    def of(self, test_id: str) -> frozenset[str]:
        """The ids a test claims; `test[x]` (a parametrized case) claims what its function does."""
        return self.tests.get(function_id(test_id), frozenset())


def function_id(test_id: str) -> str:
    """`path::Class::test[x]` -> `path::Class::test`; the path may hold `[`, a test name may not."""
    path, sep, rest = test_id.partition("::")
    return path + sep + rest.split("[", 1)[0]


def read_claims(
    tree: Path,
    test_paths: Sequence[str],
    spec_ids: Iterable[str],
    *,
    file_patterns: Sequence[str] = DEFAULT_TEST_FILES,
) -> Claims:
    """The claims of every test file under `test_paths` (files or folders, relative to `tree`, which must be
    pytest's rootdir so node ids agree). A file that cannot be read or parsed claims nothing and is listed."""
    canonical = {spec_id.casefold(): spec_id for spec_id in spec_ids}
    docstring_ids = _id_pattern(canonical.values())
    tests: dict[str, frozenset[str]] = {}
    unknown: dict[str, frozenset[str]] = {}
    unreadable: list[UnreadableFile] = []
    for relative in _test_files(tree, test_paths, file_patterns):
        module, problem = _parse(tree, relative)
        if module is None:
            unreadable.append(UnreadableFile(path=relative, problem=problem))
            continue
        for name, marked, docstring in _FileReader(module).tests():
            node_id = f"{relative}::{name}"
            found = {canonical.get(spec_id.casefold(), spec_id) for spec_id in marked}
            known = {spec_id for spec_id in found if spec_id.casefold() in canonical}
            if docstring and docstring_ids is not None:
                known |= {canonical[m.group().casefold()] for m in docstring_ids.finditer(docstring)}
            if known:
                tests[node_id] = frozenset(known)
            if found - known:
                unknown[node_id] = frozenset(found - known)
    return Claims(tests=tests, unknown=unknown, unreadable=tuple(unreadable))


def _id_pattern(spec_ids: Iterable[str]) -> re.Pattern[str] | None:
    ids = sorted(set(spec_ids), key=len, reverse=True)
    if not ids:
        return None
    alternatives = "|".join(re.escape(spec_id) for spec_id in ids)
    return re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-]|\.\w)", re.IGNORECASE)


def _test_files(tree: Path, test_paths: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """Relative posix paths of the test files, sorted; links are not followed out of a folder."""
    found: set[str] = set()
    for test_path in test_paths:
        start = tree / test_path
        if not start.is_relative_to(tree) or ".." in Path(test_path).parts:
            continue
        if start.is_file():
            found.add(start.relative_to(tree).as_posix())
            continue
        for folder, dirs, files in os.walk(start):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_FOLDERS)
            for name in files:
                if any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
                    found.add((Path(folder) / name).relative_to(tree).as_posix())
            if len(found) >= MAX_FILES:
                break
    return sorted(found)[:MAX_FILES]


def _parse(tree: Path, relative: str) -> tuple[ast.Module | None, str]:
    path = tree / relative
    try:
        if not path.resolve().is_relative_to(tree.resolve()):
            return None, "a link to outside the tree"
        if path.stat().st_size > MAX_FILE_BYTES:
            return None, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
        source = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read it: {exc.strerror or exc}"
    try:
        return ast.parse(source, filename=relative), ""
    except SyntaxError as exc:
        return None, f"does not parse: {exc.msg} (line {exc.lineno})"
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, f"does not parse: {type(exc).__name__}"


class _FileReader:
    """One parsed test file: which names spell pytest and `pytest.mark` here, and its tests' marks."""

    def __init__(self, module: ast.Module) -> None:
        self.module = module
        self.pytest_names: set[str] = set()
        self.mark_names: set[str] = set()
        for node in ast.walk(module):
            if isinstance(node, ast.Import):
                self.pytest_names |= {a.asname or a.name for a in node.names if a.name == "pytest"}
            elif isinstance(node, ast.ImportFrom) and node.module == "pytest" and node.level == 0:
                self.mark_names |= {a.asname or a.name for a in node.names if a.name == "mark"}
        self.classes = {n.name: n for n in module.body if isinstance(n, ast.ClassDef)}

    def tests(self) -> Iterator[tuple[str, list[str], str | None]]:
        """(qualified name, marked ids, docstring) for every function and method; pytest picks the tests."""
        module_ids = self._pytestmark_ids(self.module.body)
        for node in self.module.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield node.name, module_ids + self._decorator_ids(node), ast.get_docstring(node)
            elif isinstance(node, ast.ClassDef):
                yield from self._class_tests(node, node.name, module_ids)

    def _class_tests(
        self, node: ast.ClassDef, prefix: str, outer_ids: list[str]
    ) -> Iterator[tuple[str, list[str], str | None]]:
        chain = self._class_chain(node)
        class_ids = list(outer_ids)
        for cls in chain:
            class_ids += self._decorator_ids(cls) + self._pytestmark_ids(cls.body)
        seen: set[str] = set()
        for cls in chain:  # the class first: a method it redefines hides the base's
            for item in cls.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name not in seen:
                    seen.add(item.name)
                    ids = class_ids + self._decorator_ids(item)
                    yield f"{prefix}::{item.name}", ids, ast.get_docstring(item)
                elif isinstance(item, ast.ClassDef) and cls is node:
                    yield from self._class_tests(item, f"{prefix}::{item.name}", class_ids)

    def _class_chain(self, node: ast.ClassDef) -> list[ast.ClassDef]:
        """The class and its base classes defined at the top of the same file, nearest first."""
        chain = [node]
        pending = [node]
        while pending and len(chain) < _MAX_BASES_DEPTH:
            for base in pending.pop(0).bases:
                found = self.classes.get(base.id) if isinstance(base, ast.Name) else None
                if found is not None and found not in chain:
                    chain.append(found)
                    pending.append(found)
        return chain

    def _decorator_ids(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[str]:
        return [spec_id for decorator in node.decorator_list for spec_id in self._mark_ids(decorator)]

    def _pytestmark_ids(self, body: list[ast.stmt]) -> list[str]:
        ids: list[str] = []
        for statement in body:
            if isinstance(statement, ast.Assign):
                targets, value = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets, value = [statement.target], statement.value
            else:
                continue
            if any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
                marks = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
                ids += [spec_id for mark in marks for spec_id in self._mark_ids(mark)]
        return ids

    def _mark_ids(self, expression: ast.expr) -> list[str]:
        """The ids of a `spec("AC-1", ...)` mark; string literals only, also inside a list or tuple."""
        if not (isinstance(expression, ast.Call) and self._is_spec_mark(expression.func)):
            return []
        ids: list[str] = []
        for argument in expression.args:
            values = argument.elts if isinstance(argument, ast.List | ast.Tuple) else [argument]
            ids += [
                v.value.strip() for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)
            ]
        return [spec_id for spec_id in ids if spec_id]

    def _is_spec_mark(self, func: ast.expr) -> bool:
        if not (isinstance(func, ast.Attribute) and func.attr == _MARKER):
            return False
        owner = func.value
        if isinstance(owner, ast.Name):
            return owner.id in self.mark_names
        return (
            isinstance(owner, ast.Attribute)
            and owner.attr == "mark"
            and isinstance(owner.value, ast.Name)
            and owner.value.id in self.pytest_names
        )
