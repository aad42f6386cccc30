"""The static policy for generated tests: plain unit tests only, decided from the source before it runs.

Generated tests are untrusted. The sandbox bounds what they can do once they run; this policy refuses,
before they run, the ones that even try to reach past the code under test: the process and the OS
(`os`, `subprocess`, `socket`, `ctypes`...), the import machinery and the interpreter's builtins, the
tools that report the verdict (pytest, coverage), and writes outside pytest's `tmp_path`. Static checks
can be fooled, so they are a first filter, not the barrier: the sandbox still holds for what slips by.

Everything is an allow-list read from the AST. To allow a module, add it to `ALLOWED_STDLIB` or
`ALLOWED_PACKAGES`; to allow a builtin or an attribute, take it out of the `FORBIDDEN_*` sets.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from spec2prod_assets.generation.pruning import keep_tests

# Standard-library modules a plain unit test may import (top-level names; submodules follow).
ALLOWED_STDLIB = frozenset(
    {
        "__future__", "abc", "array", "base64", "binascii", "bisect", "calendar", "cmath",
        "collections", "contextlib", "copy", "dataclasses", "datetime", "decimal", "difflib", "enum",
        "fractions", "functools", "hashlib", "heapq", "hmac", "io", "itertools", "json", "keyword",
        "math", "numbers", "operator", "pathlib", "pprint", "random", "re", "statistics", "string",
        "struct", "textwrap", "time", "types", "typing", "unicodedata", "unittest", "uuid", "warnings",
        "zoneinfo",
    }
)  # fmt: skip
# Third-party packages a plain unit test may import, besides the component's own modules.
ALLOWED_PACKAGES = frozenset({"pytest", "hypothesis"})
# Builtins that run code, reach the interpreter's namespaces or wait for a person.
FORBIDDEN_CALLS = frozenset(
    {
        "exec",
        "eval",
        "compile",
        "__import__",
        "globals",
        "locals",
        "vars",
        "breakpoint",
        "input",
        "exit",
        "quit",
    }
)
# Names and attributes that lead to the builtins, frames, code objects or the import machinery.
FORBIDDEN_NAMES = frozenset({"__builtins__", "__import__", "__loader__", "__spec__"})
FORBIDDEN_ATTRIBUTES = frozenset(
    {
        "__builtins__", "__globals__", "__subclasses__", "__code__", "__closure__", "__dict__",
        "__bases__", "__base__", "__mro__", "__getattribute__", "__setattr__", "__delattr__",
        "__reduce__", "__reduce_ex__", "__loader__", "__spec__", "__import__",
        "f_globals", "f_locals", "f_back", "f_builtins", "gi_frame", "cr_frame", "tb_frame",
    }
)  # fmt: skip
# Modules whose names must not be reached even through another module (`calc.ops.os.system`).
FORBIDDEN_MODULE_NAMES = frozenset(
    {"os", "sys", "subprocess", "socket", "ctypes", "importlib", "atexit", "builtins", "shutil", "signal"}
)
# The tools that run the tests and report the verdict: never patched, never imported past `pytest`.
PROTECTED_MODULES = frozenset({"pytest", "_pytest", "coverage", "pytest_cov", "pluggy"})
FORBIDDEN_PYTEST_CALLS = frozenset({"exit", "main"})
# pytest's fixtures for scratch files: the only places a test may write.
TMP_FIXTURES = frozenset({"tmp_path", "tmpdir", "tmp_path_factory", "tmpdir_factory"})
# Path methods that write or remove; `rename`/`replace` only with one argument (str.replace has two).
PATH_WRITERS = frozenset(
    {"write_text", "write_bytes", "mkdir", "touch", "unlink", "rmdir", "symlink_to", "hardlink_to", "chmod"}
)
PATH_MOVERS = frozenset({"rename", "replace"})
PATCH_CALLS = frozenset({"setattr", "delattr", "patch", "object", "dict", "multiple", "setitem", "delitem"})
_WRITE_MODE_LETTERS = frozenset("wax+")


@dataclass(frozen=True)
class Violation:
    """One break of the policy: in test `test` (`test_a`, `TestX::test_b`) or, when None, in the file."""

    test: str | None
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class PolicyVerdict:
    """Every violation of a file, and the names of all the tests it defines."""

    violations: tuple[Violation, ...]
    tests: tuple[str, ...]

    @property
    def file_violations(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.test is None)

    def test_violations(self) -> dict[str, Violation]:
        """The first violation of each test that breaks the policy."""
        first: dict[str, Violation] = {}
        for violation in self.violations:
            if violation.test is not None:
                first.setdefault(violation.test, violation)
        return first


def check_test_file(source: str, own_modules: frozenset[str]) -> PolicyVerdict:
    """Check `source` against the policy; `own_modules` are the component's importable top-level names.

    A file that does not parse has no violations here: the funnel's collect filter reports its error.
    """
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError):
        return PolicyVerdict(violations=(), tests=())
    checker = _Checker(own_modules)
    violations: list[Violation] = []
    tests: list[str] = []
    for node, test in _units(module):
        if test is not None:
            tests.append(test)
        violations.extend(Violation(test, line, reason) for line, reason in checker.check(node))
    return PolicyVerdict(violations=tuple(violations), tests=tuple(tests))


def allowed_part(source: str, own_modules: frozenset[str]) -> tuple[str | None, list[Violation]]:
    """What of `source` may run, and the violations to report: one per offending test, or the file's
    first when the file as a whole breaks the policy (then nothing may run: None)."""
    verdict = check_test_file(source, own_modules)
    if verdict.file_violations:
        return None, [verdict.file_violations[0]]
    refused = verdict.test_violations()
    if not refused:
        return source, []
    allowed = {name for name in verdict.tests if name not in refused}
    return (keep_tests(source, allowed) if allowed else None), list(refused.values())


def importable_names(tree: Path, pythonpath: str) -> frozenset[str]:
    """The top-level names the component's tests can import: what lies on its PYTHONPATH and at its root."""
    names: set[str] = set()
    for entry in [*pythonpath.split(os.pathsep), "."]:
        folder = tree / entry if entry else tree
        if folder.is_dir():
            names.update(
                c.stem if c.suffix == ".py" else c.name
                for c in folder.iterdir()
                if c.is_dir() or c.suffix == ".py"
            )
    return frozenset(names)


def _units(module: ast.Module) -> Iterator[tuple[ast.AST, str | None]]:
    """Top-level statements paired with the test they belong to (None: the whole file answers for it)."""
    for node in module.body:
        if _is_test(node):
            assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            yield node, node.name
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.decorator_list + node.bases + node.keywords:
                yield item, None
            for member in node.body:
                if _is_test(member):
                    assert isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
                    yield member, f"{node.name}::{member.name}"
                else:
                    yield member, None
        else:
            yield node, None


def _is_test(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


class _Checker:
    """Walks one unit (a test, or a statement of the file) and says what in it breaks the policy."""

    def __init__(self, own_modules: frozenset[str]) -> None:
        self._own = own_modules
        self._protected_aliases: set[str] = set()

    def check(self, unit: ast.AST) -> Iterator[tuple[int, str]]:
        scratch = _scratch_names(unit)
        if isinstance(unit, ast.Assign | ast.AnnAssign):  # a module-level `tmp_path = Path.home()`
            targets = unit.targets if isinstance(unit, ast.Assign) else [unit.target]
            for name in _target_names(targets):
                if name in TMP_FIXTURES:
                    yield unit.lineno, f"redefines pytest's {name!r} fixture"
        for node in ast.walk(unit):
            line = getattr(node, "lineno", getattr(unit, "lineno", 0))
            for reason in self._node_reasons(node, scratch):
                yield line, reason

    def _node_reasons(self, node: ast.AST, scratch: set[str]) -> Iterator[str]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from self._import_reasons(alias.name, alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield from self._import_reasons(node.module, None)
            for alias in node.names:
                if alias.name in FORBIDDEN_MODULE_NAMES or alias.name in FORBIDDEN_NAMES:
                    yield f"imports {alias.name!r} from another module"
                elif node.module and node.module.split(".")[0] in PROTECTED_MODULES:
                    self._protected_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES:
                yield f"uses {node.id!r}"
        elif isinstance(node, ast.Attribute):
            if node.attr in FORBIDDEN_ATTRIBUTES or node.attr in FORBIDDEN_MODULE_NAMES:
                yield f"reaches the attribute {node.attr!r}"
            if isinstance(node.ctx, ast.Store | ast.Del) and self._is_protected(node.value):
                yield f"assigns to {ast.unparse(node)}: pytest and coverage are never patched"
        elif isinstance(node, ast.Call):
            yield from self._call_reasons(node, scratch)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in TMP_FIXTURES:
            yield f"redefines pytest's {node.name!r} fixture"
        elif isinstance(node, ast.keyword) and node.arg == "name" and _is_fixture_name(node.value):
            yield f"redefines pytest's {ast.unparse(node.value)} fixture"

    def _import_reasons(self, module: str, bound_as: str | None) -> Iterator[str]:
        top = module.split(".")[0]
        if top in PROTECTED_MODULES:
            if top != "pytest":
                yield f"imports {module!r}: the tools that report the verdict are off limits"
            elif bound_as:
                self._protected_aliases.add(bound_as)
            return
        if top in sys.stdlib_module_names:
            if top not in ALLOWED_STDLIB:
                yield f"imports {module!r}, which is not on the allow-list of plain unit tests"
        elif top not in ALLOWED_PACKAGES and top not in self._own:
            yield f"imports {module!r}, neither the component's own code nor an allowed package"

    def _is_protected(self, node: ast.AST) -> bool:
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        return isinstance(root, ast.Name) and root.id in self._protected_aliases

    def _call_reasons(self, call: ast.Call, scratch: set[str]) -> Iterator[str]:
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if isinstance(func, ast.Name) and name in FORBIDDEN_CALLS:
            yield f"calls {name}()"
        if isinstance(func, ast.Name) and name in {"getattr", "setattr", "delattr", "hasattr"}:
            yield from self._dynamic_attribute_reasons(call, name)
        if (
            isinstance(func, ast.Attribute)
            and self._is_protected(func.value)
            and name in FORBIDDEN_PYTEST_CALLS
        ):
            yield f"calls {ast.unparse(func)}()"
        if name in PATCH_CALLS and isinstance(func, ast.Attribute | ast.Name) and call.args:
            yield from self._patch_reasons(call.args[0], name)
        if name == "open" and (isinstance(func, ast.Name) or _is_name(func, "io")):
            mode = _argument(call, 1, "mode")
            if _may_write(mode) and not _mentions(_argument(call, 0, "file"), scratch):
                yield "opens a file for writing outside tmp_path"
        elif isinstance(func, ast.Attribute) and not _mentions(func.value, scratch):
            if name == "open" and _may_write(_argument(call, 0, "mode")):
                yield "opens a file for writing outside tmp_path"
            elif name in PATH_WRITERS or (name in PATH_MOVERS and len(call.args) + len(call.keywords) == 1):
                yield f"calls .{name}() on a path outside tmp_path"

    def _dynamic_attribute_reasons(self, call: ast.Call, name: str) -> Iterator[str]:
        if len(call.args) < 2 or not isinstance(call.args[1], ast.Constant):
            yield f"calls {name}() with an attribute name that is not a literal"
            return
        attribute = str(call.args[1].value)
        if attribute in FORBIDDEN_ATTRIBUTES or attribute in FORBIDDEN_MODULE_NAMES:
            yield f"calls {name}() for the attribute {attribute!r}"
        if name in {"setattr", "delattr"} and self._is_protected(call.args[0]):
            yield f"calls {name}() on pytest: pytest and coverage are never patched"

    def _patch_reasons(self, target: ast.expr, name: str) -> Iterator[str]:
        if self._is_protected(target):
            yield f"patches {ast.unparse(target)} with .{name}(): pytest and coverage are never patched"
        elif isinstance(target, ast.Constant) and isinstance(target.value, str) and "." in target.value:
            for reason in self._import_reasons(target.value.rsplit(".", 1)[0], None):
                yield f"patches {target.value!r}: {reason}"
            if target.value.split(".")[0] == "pytest":
                yield f"patches {target.value!r}: pytest and coverage are never patched"


def _scratch_names(unit: ast.AST) -> set[str]:
    """The names in `unit` that hold a path under pytest's scratch fixtures: its parameters, and what
    is bound from them (assignments, loops, `with ... as`), followed until nothing new turns up."""
    if not isinstance(unit, ast.FunctionDef | ast.AsyncFunctionDef):
        return set()
    arguments = unit.args.posonlyargs + unit.args.args + unit.args.kwonlyargs
    scratch = {a.arg for a in arguments if a.arg in TMP_FIXTURES}
    bindings = list(_bindings(unit))
    while True:
        found = {
            name
            for targets, value in bindings
            if _mentions(value, scratch)
            for name in _target_names(targets)
            if name not in scratch
        }
        if not found:
            return scratch
        scratch |= found


def _bindings(unit: ast.AST) -> Iterator[tuple[Sequence[ast.expr], ast.expr | None]]:
    for node in ast.walk(unit):
        if isinstance(node, ast.Assign):
            yield node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
            yield [node.target], node.value
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            yield [node.target], node.iter
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            yield [node.optional_vars], node.context_expr


def _target_names(targets: Sequence[ast.expr]) -> list[str]:
    return [n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)]


def _mentions(node: ast.AST | None, names: set[str]) -> bool:
    return node is not None and any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _is_fixture_name(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in TMP_FIXTURES


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == name


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _may_write(mode: ast.expr | None) -> bool:
    """Opening reads unless the mode says otherwise; a mode that is not a literal may write."""
    if mode is None:
        return False
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        return bool(_WRITE_MODE_LETTERS & set(mode.value))
    return True
