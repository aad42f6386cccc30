"""The public API of a component, so a refactor that changes it can be caught and thrown away.

A signature here is the parameters' names, kinds and defaults and the public names themselves.
Annotations are left out on purpose: ruff's pyupgrade rewrites `Optional[str]` as `str | None`, which
changes the text but not the meaning.
"""

from __future__ import annotations

import ast
from pathlib import Path

from spec2prod_assets.storage.working_copies import python_files


class PublicApiError(ValueError):
    """A source file that does not parse has no readable API."""


def public_api(tree: Path, source_path: str) -> dict[str, str]:
    """`{"<module file>:<qualified name>": "<signature>"}` for every public name of every module."""
    api: dict[str, str] = {}
    for relative in python_files(tree, source_path):
        source = (tree / relative).read_text(encoding="utf-8")
        try:
            module = ast.parse(source, filename=relative)
        except SyntaxError as exc:
            raise PublicApiError(f"{relative}:{exc.lineno}: {exc.msg}") from exc
        for name, signature in _module_api(module, is_package=relative.endswith("__init__.py")):
            api[f"{relative}:{name}"] = signature
    return api


def api_differences(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Human-readable differences: names removed, added, or with another signature."""
    changes = [f"removed {name}" for name in sorted(before.keys() - after.keys())]
    changes += [f"added {name}" for name in sorted(after.keys() - before.keys())]
    changes += [
        f"changed {name}: {before[name]} -> {after[name]}"
        for name in sorted(before.keys() & after.keys())
        if before[name] != after[name]
    ]
    return changes


def _module_api(module: ast.Module, *, is_package: bool) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_public(node.name):
            entries.append((node.name, _signature(node)))
        elif isinstance(node, ast.ClassDef) and _is_public(node.name):
            entries.append((node.name, "class"))
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and _is_public_method(item.name):
                    entries.append((f"{node.name}.{item.name}", _signature(item)))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "__all__":
                    entries.append(("__all__", ast.unparse(node.value)))
                elif isinstance(target, ast.Name) and _is_public(target.id):
                    entries.append((target.id, "variable"))
        elif is_package and isinstance(node, ast.ImportFrom | ast.Import):
            # A package's imports are its re-exports (`from .ops import add`); a module's are not.
            for alias in node.names:
                exported = alias.asname or alias.name.split(".")[0]
                if _is_public(exported) and alias.name != "*":
                    entries.append((exported, "import"))
    return entries


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    args = node.args
    positional = args.posonlyargs + args.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parts: list[str] = []
    for index, arg in enumerate(positional):
        default = defaults[index]
        parts.append(arg.arg + (f"={ast.unparse(default)}" if default is not None else ""))
        if args.posonlyargs and index == len(args.posonlyargs) - 1:
            parts.append("/")
    if args.vararg:
        parts.append(f"*{args.vararg.arg}")
    elif args.kwonlyargs:
        parts.append("*")
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parts.append(arg.arg + (f"={ast.unparse(kw_default)}" if kw_default is not None else ""))
    if args.kwarg:
        parts.append(f"**{args.kwarg.arg}")
    prefix = "async " if isinstance(node, ast.AsyncFunctionDef) else ""
    return f"{prefix}({', '.join(parts)})"


def _is_public(name: str) -> bool:
    return not name.startswith("_")


def _is_public_method(name: str) -> bool:
    return _is_public(name) or (name.startswith("__") and name.endswith("__"))
