"""YAML that cannot hang or crash the parser: the node graph is measured before anything is built.

Composing YAML is linear in its text, but aliases make the composed graph a DAG whose expansion can be
exponential: a few hundred bytes of `&a [*b, *b, ...]` become billions of values once anything walks
them as a tree (printing one in an error message is enough). So the graph is walked once, each shared
node weighed once and counted as often as it is used, and a front matter that expands to more than
twice its own text (plus a small allowance), nests deeper than any spec needs, or refers to itself, is
refused before a single value is constructed. PyYAML's constructors then raise whatever Python raises
for `2024-02-30`, `!!int abc` or a 5,000-digit integer; those become a `YAMLValueError` at the value's
line, never a ValueError, OverflowError or AttributeError from deep inside PyYAML.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 32
# Expansion allowance on top of twice the text: enough for any honest reuse of an anchor.
EXPANSION_ALLOWANCE = 10_000

# libyaml's loader when PyYAML was built with it: the same nodes and marks, several times faster, which
# is what keeps a sensor tick over a thousand specs short.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAMLValueError(Exception):
    """A YAML document that is well-formed but unusable; `line` is 0-based in the YAML text."""

    def __init__(self, problem: str, line: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


def loader_for(text: str) -> yaml.SafeLoader:
    """A safe loader for `text` (the caller disposes of it)."""
    return _YAML_LOADER(text)


def check_expansion(root: yaml.Node, text_chars: int) -> None:
    """Refuse a node graph that recurses, nests too deep or expands far beyond its text.

    Weights are memoized per node, so the walk itself is linear in the composed graph, whatever the
    aliases would expand to.
    """
    limit = 2 * text_chars + EXPANSION_ALLOWANCE
    weights: dict[int, int] = {}
    open_nodes: set[int] = set()
    # An explicit stack (node, depth, children visited?) so deep documents cannot exhaust Python's stack.
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, visited = stack.pop()
        key = id(node)
        if visited:
            open_nodes.discard(key)
            weights[key] = 1 + sum(weights[id(child)] for child in _children(node))
            if weights[key] > limit:
                raise YAMLValueError(
                    f"YAML anchors and aliases expand this front matter beyond {limit} values; "
                    "repeat small values only",
                    node.start_mark.line,
                )
            continue
        if key in weights:
            continue
        if key in open_nodes:
            raise YAMLValueError(
                "a YAML alias refers to the collection that contains it", node.start_mark.line
            )
        if depth > MAX_DEPTH:
            raise YAMLValueError(
                f"the front matter nests deeper than {MAX_DEPTH} levels", node.start_mark.line
            )
        if isinstance(node, yaml.ScalarNode):
            weights[key] = 1 + len(node.value)
            continue
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node) if id(child) not in weights)


def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """The node's Python value; any failure of a constructor is a `YAMLValueError` at the bad value."""
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except _CONSTRUCTOR_FAILURES:
        raise _bad_scalar(node) from None


# What PyYAML's constructors raise for `2024-02-30`, `!!int abc`, `!!timestamp x`, `!!bool maybe`, or an
# integer of more than 4,300 digits; none of them is a YAMLError.
_CONSTRUCTOR_FAILURES = (ValueError, OverflowError, ArithmeticError, AttributeError, KeyError, TypeError)


def _bad_scalar(node: yaml.Node) -> YAMLValueError:
    """Name the first scalar under `node` that its tag's constructor rejects (only run on failure).

    Each scalar is tried on a fresh loader: the one that failed is left mid-construction.
    """
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            probe = loader_for("")
            try:
                probe.construct_object(current)
            except _CONSTRUCTOR_FAILURES:
                tag = current.tag.rsplit(":", 1)[-1]
                shown = current.value if len(current.value) <= 40 else current.value[:40] + "..."
                return YAMLValueError(f"{shown!r} is not a valid {tag}", current.start_mark.line)
            finally:
                probe.dispose()
        stack.extend(reversed(_children(current)))
    return YAMLValueError("a value here cannot be read", node.start_mark.line)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
