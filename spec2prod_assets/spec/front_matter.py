"""YAML front matter: the `---` block at the top of a spec, read into the draft with each key's line.

PyYAML nodes keep the marks that `yaml.safe_load` drops, so an error about a key or a list entry can
name its line in the file; that node walking is all this module does, apart from cutting the block off
the body, whose line numbers must then be shifted back to the file's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import yaml

from spec2prod_assets.spec.bounded_yaml import (
    MAX_DEPTH,
    YAMLValueError,
    check_expansion,
    construct,
    loader_for,
)
from spec2prod_assets.spec.draft import Draft
from spec2prod_assets.spec.field_values import dependency, field_value
from spec2prod_assets.spec.items import KINDS, PRIORITIES, Item, is_item_id, kind_from_id, parse_item
from spec2prod_assets.spec.schema import (
    CRITERION_ENTRY_KEYS,
    KEY_SPELLINGS,
    REQUIREMENT_ENTRY_KEYS,
    is_extension_key,
    label_words,
    unknown_entry_key_problem,
    unknown_front_matter_key_problem,
)

_Choice = TypeVar("_Choice")

_FRONT_MATTER_FENCE = "---"
_FRONT_MATTER_ENDS = ("---", "...")


@dataclass(frozen=True)
class _Entry:
    """One front-matter key: its value, its line, and each list item's line for errors about items."""

    value: Any
    line: int
    item_lines: tuple[int, ...]


def split_front_matter(text: str, draft: Draft) -> tuple[str | None, str, int]:
    """Front matter, body, and how many lines precede the body (to turn body lines into file lines)."""
    lines = text.split("\n")
    if lines[0].rstrip() != _FRONT_MATTER_FENCE:
        return None, text, 0
    for index, line in enumerate(lines[1:], start=1):
        if line.rstrip() in _FRONT_MATTER_ENDS:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 1
    raise draft.error("the front matter opened by '---' is never closed by another '---' line", 1)


def _front_matter_entries(front_matter: str, draft: Draft) -> dict[str, _Entry]:
    """Load the YAML keeping each key's line, which `yaml.safe_load` alone would throw away."""
    loader = loader_for(front_matter)
    try:
        root = loader.get_single_node()
        if root is None:
            return {}
        if not isinstance(root, yaml.MappingNode):
            shape = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
            raise draft.error(f"the front matter must be a mapping of keys to values, not {shape}", 2)
        check_expansion(root, len(front_matter))
        return _mapping_entries(loader, root, draft)
    except YAMLValueError as exc:
        raise draft.error(f"the front matter is not usable YAML: {exc.problem}", exc.line + 2) from None
    except RecursionError:
        raise draft.error(
            f"the front matter nests too deep to read (at most {MAX_DEPTH} levels)", 2
        ) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 2 if exc.problem_mark else None
        raise draft.error(f"the front matter is not valid YAML: {exc.problem or exc}", line) from None
    except yaml.YAMLError as exc:
        raise draft.error(f"the front matter is not valid YAML: {exc}", 2) from None
    finally:
        loader.dispose()


def _mapping_entries(loader: yaml.SafeLoader, root: yaml.MappingNode, draft: Draft) -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 2
        key = construct(loader, key_node)
        if not isinstance(key, str):
            raise draft.error(f"front matter key {key!r} must be text", line)
        if key in entries:
            raise draft.error(
                f"front matter key {key!r} is given twice (first at line {entries[key].line})", line
            )
        item_lines = (
            tuple(node.start_mark.line + 2 for node in value_node.value)
            if isinstance(value_node, yaml.SequenceNode)
            else ()
        )
        # Scalars keep their text as written: `version: 1.10` must not become the float 1.1.
        value = (
            value_node.value
            if isinstance(value_node, yaml.ScalarNode) and value_node.tag == "tag:yaml.org,2002:float"
            else construct(loader, value_node)
        )
        entries[key] = _Entry(value, line, item_lines)
    return entries


def read_front_matter(front_matter: str, draft: Draft) -> None:
    """Every key must be one the format knows (or an `x-` key of the author's): a typo is an error."""
    for key, entry in _front_matter_entries(front_matter, draft).items():
        target = KEY_SPELLINGS.get(label_words(key))
        if target is None:
            if is_extension_key(key):
                continue
            raise draft.error(unknown_front_matter_key_problem(key), entry.line)
        if target == "requirements":
            draft.requirements.extend(_front_matter_items(entry, key, draft, with_priority=True))
        elif target == "acceptance_criteria":
            draft.acceptance.extend(_front_matter_items(entry, key, draft, with_priority=False))
        elif target == "api":
            draft.api.extend(_front_matter_strings(entry, key, draft))
        elif target == "dependencies":
            strings = _front_matter_strings(entry, key, draft, example="requests>=2.31")
            lines = entry.item_lines
            draft.dependencies.extend(
                dependency(text, line, draft) for text, line in zip(strings, lines, strict=True)
            )
        else:
            draft.set(target, field_value(target, entry.value, entry.line, draft), entry.line)


def _front_matter_strings(entry: _Entry, key: str, draft: Draft, *, example: str = "") -> list[str]:
    if not isinstance(entry.value, list):
        shown = f" such as ['{example}']" if example else ""
        raise draft.error(f"{key} must be a list of strings{shown}", entry.line)
    for value, line in zip(entry.value, entry.item_lines, strict=True):
        if not isinstance(value, str) or not value.strip():
            raise draft.error(f"each {key} entry must be a non-empty string, not {value!r}", line)
    return [value.strip() for value in entry.value]


def _front_matter_items(entry: _Entry, key: str, draft: Draft, *, with_priority: bool) -> list[Item]:
    if not isinstance(entry.value, list):
        raise draft.error(f"{key} must be a list", entry.line)
    items = []
    for value, line in zip(entry.value, entry.item_lines, strict=True):
        if isinstance(value, str):
            item = parse_item(value, line, with_priority=with_priority)
        elif _is_id_mapping(value):
            # `- FR-1: Add two numbers` unquoted is {"FR-1": "Add two numbers"} to YAML, meant as id and text.
            ((item_id, text),) = value.items()
            item = parse_item(f"{item_id}: {text}", line, with_priority=with_priority)
        elif isinstance(value, dict):
            item = _front_matter_item(value, line, key, draft, with_priority=with_priority)
        else:
            raise draft.error(f"each {key} entry must be a string or a mapping with 'text'", line)
        if item is not None:
            items.append(item)
    return items


def _is_id_mapping(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1 or "text" in value:
        return False
    ((key, text),) = value.items()
    return isinstance(key, str) and isinstance(text, str) and is_item_id(key)


def _front_matter_item(
    value: dict[Any, Any], line: int, key: str, draft: Draft, *, with_priority: bool
) -> Item:
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        # `- f("a: b") is True` is a one-key mapping to YAML; say so rather than leave the author puzzled.
        hint = "" if "text" in value else "; an entry whose text contains ': ' must be quoted"
        raise draft.error(f"this {key} entry needs a non-empty 'text'{hint}", line)
    known = REQUIREMENT_ENTRY_KEYS if with_priority else CRITERION_ENTRY_KEYS
    for entry_key in value:
        if entry_key not in known:
            raise draft.error(unknown_entry_key_problem(str(entry_key), known, key), line)
    item_id = value.get("id")
    if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, str | int)):
        raise draft.error(f"the id of this {key} entry must be text such as FR-1, not {item_id!r}", line)
    item_id = None if item_id is None else str(item_id).strip()
    kind = kind_from_id(item_id)
    priority = None
    if with_priority:
        kind = _lookup(value, "kind", KINDS, line, draft) or kind
        priority = _lookup(value, "priority", PRIORITIES, line, draft)
    return Item(item_id or None, text.strip(), line, kind, priority)


def _lookup(
    value: dict[Any, Any], key: str, choices: dict[str, _Choice], line: int, draft: Draft
) -> _Choice | None:
    given = value.get(key)
    if given is None:
        return None
    found = choices.get(str(given).strip().casefold().replace("-", "_"))
    if found is None:
        raise draft.error(f"unknown {key} {given!r}; use one of: {', '.join(choices)}", line)
    return found
