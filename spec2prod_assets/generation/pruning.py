"""Pruning generated test files to the tests that survived, and counting what they define.

The funnel judges tests one by one but ships files: a file keeps only the tests that passed every
filter, cut out of the source rather than re-printed, so a kept test reads exactly as it was written.
"""

from __future__ import annotations

import ast
import re

_TEST_DEF_RE = re.compile(r"^\s*(?:async\s+)?def\s+test", re.MULTILINE)


def keep_tests(source: str, keep: set[str]) -> str:
    """`source` without the test functions not in `keep` (names like `test_a` or `TestX::test_b`).

    Lines are cut rather than the AST re-printed, so comments and formatting of kept tests survive.
    """
    module = ast.parse(source)
    lines = source.splitlines(keepends=True)
    drop: list[tuple[int, int]] = []
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            if node.name not in keep:
                drop.append(_span(node))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            methods = [
                m
                for m in node.body
                if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef) and m.name.startswith("test")
            ]
            kept = [m for m in methods if f"{node.name}::{m.name}" in keep]
            if methods and not kept:
                drop.append(_span(node))
            else:
                drop.extend(_span(m) for m in methods if m not in kept)
    for start, end in sorted(drop, reverse=True):
        del lines[start - 1 : end]
    return "".join(lines)


def _span(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> tuple[int, int]:
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return start, node.end_lineno or node.lineno


def count_test_defs(source: str) -> int:
    """Tests in a generated file; a file that does not parse still counts what it tried to define."""
    try:
        module = ast.parse(source)
    except SyntaxError:
        return max(1, len(_TEST_DEF_RE.findall(source)))
    return sum(
        1
        for node in ast.walk(module)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    )
