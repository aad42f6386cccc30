"""Markdown spec -> `ComponentSpec`, or a `SpecError` that points at the line to fix.

People write specs in two styles and often mix them: YAML front matter, and the bold-field / section
layout of common spec templates (`**Component ID:**`, `## Requirements` with `FR-1` bullets, `## Success
Criteria` with `coverage >= 80%`). Structure comes from markdown-it tokens and PyYAML nodes, both of which
carry line numbers; regular expressions only read small inline things such as `FR-1:` or `>= 80%`.

Every later stage trusts the parsed spec, so anything doubtful (a value given twice with different
contents, an unknown stage, a threshold outside 0..100) is an error here rather than a guess.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import ValidationError

from spec2prod_assets.spec.model import (
    AcceptanceCriterion,
    ComponentSpec,
    Priority,
    QualityGates,
    Requirement,
    RequirementKind,
    SpecError,
    Stage,
    check_relative_path,
    slugify,
)

MAX_SPEC_BYTES = 1024 * 1024

_Choice = TypeVar("_Choice")

_MARKDOWN = MarkdownIt("commonmark")
_FRONT_MATTER_FENCE = "---"
_FRONT_MATTER_ENDS = ("---", "...")

# Body labels (`**Component ID:**`) and front-matter keys (`component_id:`, '_' read as ' ') -> field.
_FIELD_ALIASES = {
    "name": "name",
    "component": "name",
    "component name": "name",
    "slug": "slug",
    "id": "slug",
    "component id": "slug",
    "version": "version",
    "summary": "summary",
    "description": "summary",
    "source path": "source_path",
    "source": "source_path",
    "source directory": "source_path",
    "tests path": "tests_path",
    "test path": "tests_path",
    "tests": "tests_path",
    "tests directory": "tests_path",
    "test directory": "tests_path",
    "target stage": "target_stage",
    "stage": "target_stage",
    "coverage threshold": "coverage_threshold",
    "coverage": "coverage_threshold",
    "minimum coverage": "coverage_threshold",
    "lint clean": "lint_clean",
}
_BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}
_STAGES = {
    "dev": Stage.DEV,
    "development": Stage.DEV,
    "staging": Stage.STAGING,
    "stage": Stage.STAGING,
    "production": Stage.PRODUCTION,
    "prod": Stage.PRODUCTION,
}
_PRIORITIES = {
    "must": Priority.MUST,
    "high": Priority.MUST,
    "should": Priority.SHOULD,
    "medium": Priority.SHOULD,
    "could": Priority.COULD,
    "low": Priority.COULD,
}
_KINDS = {
    "functional": RequirementKind.FUNCTIONAL,
    "fr": RequirementKind.FUNCTIONAL,
    "non_functional": RequirementKind.NON_FUNCTIONAL,
    "nonfunctional": RequirementKind.NON_FUNCTIONAL,
    "nfr": RequirementKind.NON_FUNCTIONAL,
}

_DASHES = "\u2013\u2014"  # en and em dash, as editors turn " - " into them
# `FR-1`, `NFR-2`, `REQ-003`, `FR-1.2`; a compact `FR1` only counts as an id when a ':' follows it.
_HYPHEN_ID = r"[A-Z][A-Z0-9]*(?:[-_.][A-Z0-9]+)*[-_.]\d+"
_COMPACT_ID = r"[A-Z]+\d+(?:\.\d+)*"
_ITEM_ID_RE = re.compile(
    rf"^(?:\[(?P<bracketed>{_HYPHEN_ID}|{_COMPACT_ID})\]\s*[:\-{_DASHES}]?"
    rf"|(?P<hyphen>{_HYPHEN_ID})(?:\s*[:)\-{_DASHES}]|\s|$)"
    rf"|(?P<compact>{_COMPACT_ID})\s*[:)])\s*(?P<text>.*)$"
)
_WHOLE_ID_RE = re.compile(rf"{_HYPHEN_ID}|{_COMPACT_ID}")
_PRIORITY_WORD = "|".join(_PRIORITIES)
# Only marked priorities count ("(Must)", "[SHOULD]", "Priority: High"): "the tool must ..." is prose.
_PRIORITY_MARK_RE = re.compile(
    rf"[(\[]\s*(?:priority\s*[:=]?\s*)?(?P<marked>{_PRIORITY_WORD})(?:\s+(?:have|priority))?\s*[)\]]"
    rf"|\bpriority\s*[:=]\s*(?P<labelled>{_PRIORITY_WORD})\b",
    re.IGNORECASE,
)
_CHECKBOX_RE = re.compile(r"^\[[ xX]\](?:\s+|$)")
_PERCENT_RE = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*(?:%|percent\b)", re.IGNORECASE)
_COMPARED_NUMBER_RE = re.compile(
    r"(?:>=|≥|=>|>|=|:|\bat least|\bminimum(?: of)?)\s*([-+]?\d+(?:\.\d+)?)\b", re.IGNORECASE
)
_BARE_NUMBER_RE = re.compile(r"[-+]?\d+(?:\.\d+)?")
_CLAUSE_SPLIT_RE = re.compile(r"[;,]|\band\b", re.IGNORECASE)
_LINT_RE = re.compile(r"\b(?:lint\w*|ruff|flake8|pylint)\b", re.IGNORECASE)
_TITLE_PREFIX_RE = re.compile(rf"^(?:\w+\s+)?spec(?:ification)?\s*[:\-{_DASHES}]\s*", re.IGNORECASE)
_TITLE_SUFFIX_RE = re.compile(rf"\s*[:\-{_DASHES}]?\s*(?:component\s+)?spec(?:ification)?$", re.IGNORECASE)
_NON_FUNCTIONAL_RE = re.compile(r"non[-\s]?functional|\bnfrs?\b|quality attributes", re.IGNORECASE)
_FUNCTIONAL_RE = re.compile(r"\bfunctional\b", re.IGNORECASE)
_SEPARATORS = f" \t:;,-{_DASHES}"
_WHITESPACE_RE = re.compile(r"\s+")
_LINE_BREAKS = ("softbreak", "hardbreak")


# ---------------------------------------------------------------- public API


def find_spec_files(project_root: Path) -> list[Path]:
    """Every `specs/**/*.md` of a project, sorted so partitions and runs come in a stable order.

    Hidden files are skipped: editors leave `.#calc.md` lock files and `.~calc.md` backups there.
    """
    specs_dir = project_root / "specs"
    return sorted(
        path
        for path in specs_dir.rglob("*.md")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(specs_dir).parts)
    )


def parse_spec(spec_file: Path, project_root: Path) -> ComponentSpec:
    """Read and parse one spec file; its hash is over the exact bytes so a release can name its spec."""
    spec_path = _relative_spec_path(spec_file, project_root)
    data = _read_bounded(spec_file, spec_path)
    return parse_spec_text(
        _decode_utf8(data, spec_path), spec_path=spec_path, spec_sha256=hashlib.sha256(data).hexdigest()
    )


def parse_spec_text(text: str, *, spec_path: str, spec_sha256: str | None = None) -> ComponentSpec:
    """Parse spec text; pure, so tests and tools need no files. The hash defaults to the UTF-8 text's."""
    sha256 = spec_sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    draft = _Draft(spec_path)
    if not text.strip():
        raise draft.error("the spec is empty")
    front_matter, body, body_offset = _split_front_matter(text, draft)
    if front_matter is not None:
        _read_front_matter(front_matter, draft)
    _read_body(body, body_offset, draft)
    return _build(draft, sha256)


# ---------------------------------------------------------------- reading the file


def _relative_spec_path(spec_file: Path, project_root: Path) -> str:
    """The spec's path as reports show it; lexical first, so a spec reached by a symlink keeps its name."""
    try:
        return spec_file.relative_to(project_root).as_posix()
    except ValueError:
        pass
    try:
        return spec_file.resolve().relative_to(project_root.resolve()).as_posix()
    except ValueError:
        raise SpecError(str(spec_file), f"the spec is not inside the project root {project_root}") from None


def _read_bounded(spec_file: Path, spec_path: str) -> bytes:
    """Read at most one byte past the limit, so a huge or endless file costs no more than that."""
    try:
        with spec_file.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(spec_path, f"cannot read the spec: {exc.strerror or exc}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(spec_path, "the spec is larger than 1 MiB; split it or trim it")
    return data


def _decode_utf8(data: bytes, spec_path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = (
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; save the file as UTF-8"
        )
        raise SpecError(spec_path, problem, line) from None


# ---------------------------------------------------------------- what the spec says, before validation


@dataclass(frozen=True)
class _Located:
    value: Any
    line: int


@dataclass(frozen=True)
class _Item:
    """A requirement or acceptance criterion as written; ids and kinds are settled once all are known."""

    id: str | None
    text: str
    line: int
    kind: RequirementKind | None = None
    priority: Priority | None = None


@dataclass
class _Draft:
    """Everything gathered from front matter and body, each value with the line it came from."""

    path: str
    fields: dict[str, _Located] = field(default_factory=dict)
    title: _Located | None = None
    overview: str | None = None
    preamble: str | None = None
    requirements: list[_Item] = field(default_factory=list)
    requirements_heading_line: int | None = None
    acceptance: list[_Item] = field(default_factory=list)
    api: list[str] = field(default_factory=list)

    def error(self, problem: str, line: int | None = None) -> SpecError:
        return SpecError(self.path, problem, line)

    def set(self, key: str, value: Any, line: int) -> None:
        """Record a field; the same field twice with different values is an error, not a silent winner."""
        previous = self.fields.get(key)
        if previous is not None and previous.value != value:
            raise self.error(
                f"{_title(key)} is given twice with different values: "
                f"{_shown(previous.value)} (line {previous.line}) and {_shown(value)}",
                line,
            )
        if previous is None:
            self.fields[key] = _Located(value, line)


def _shown(value: Any) -> str:
    return repr(value.value if isinstance(value, Enum) else value)


def _title(key: str) -> str:
    return key.replace("_", " ")


# ---------------------------------------------------------------- field values


def _field_value(key: str, value: Any, line: int, draft: _Draft) -> Any:
    """Turn a raw field into its typed value, failing at the field's own line."""
    if key == "coverage_threshold":
        return _coverage_threshold(value, line, draft)
    if key == "lint_clean":
        flag = _BOOLEANS.get(value.casefold()) if isinstance(value, str) else value
        if not isinstance(flag, bool):
            raise draft.error(f"lint clean must be true or false, not {value!r}", line)
        return flag
    text = "" if value is None else str(value).strip()
    if not text or isinstance(value, dict | list):
        raise draft.error(f"{_title(key)} must be a non-empty text value", line)
    if key == "target_stage":
        return _stage(text, line, draft)
    if key in ("source_path", "tests_path"):
        try:
            return check_relative_path(text)
        except ValueError as exc:
            raise draft.error(f"{_title(key)}: {exc}", line) from None
    return text


def _stage(text: str, line: int, draft: _Draft) -> Stage:
    stage = _STAGES.get(text.casefold())
    if stage is None:
        allowed = ", ".join(member.value for member in Stage)
        raise draft.error(f"unknown target stage {text!r}; use one of: {allowed}", line)
    return stage


def _coverage_threshold(value: Any, line: int, draft: _Draft) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        threshold: float | None = float(value)
    else:
        threshold = _percent_in(str(value)) if isinstance(value, str) else None
    if threshold is None:
        raise draft.error(f"coverage threshold {value!r} is not a percentage such as 80 or '80%'", line)
    if not 0.0 <= threshold <= 100.0:
        raise draft.error(f"coverage threshold {threshold:g} is outside 0..100", line)
    return threshold


def _percent_in(text: str) -> float | None:
    """The percentage a line states: `>= 80%`, `85 %`, `at least 75% coverage`, `: 90`, or just `90`."""
    match = (
        _PERCENT_RE.search(text)
        or _COMPARED_NUMBER_RE.search(text)
        or _BARE_NUMBER_RE.fullmatch(text.strip())
    )
    if match is None:
        return None
    return float(match.group(1) if match.groups() else match.group(0))


# ---------------------------------------------------------------- requirement and criterion text


def _parse_item(text: str, line: int, *, with_priority: bool) -> _Item | None:
    """Split `FR-1: Add two numbers (Must)` into id, text and priority; None for an empty bullet."""
    text = _CHECKBOX_RE.sub("", text.strip(), count=1)
    priority = None
    if with_priority:
        priority, text = _take_priority(text)
    match = _ITEM_ID_RE.match(text)
    item_id = None
    if match:
        item_id = match["bracketed"] or match["hyphen"] or match["compact"]
        text = match["text"]
    text = text.strip(_SEPARATORS)
    if item_id is None and not text:
        return None
    return _Item(item_id, text, line, _kind_from_id(item_id), priority)


def _take_priority(text: str) -> tuple[Priority | None, str]:
    match = _PRIORITY_MARK_RE.search(text)
    if match is None:
        return None, text
    word = match["marked"] or match["labelled"]
    remaining = " ".join(_PRIORITY_MARK_RE.sub(" ", text).split())
    return _PRIORITIES[word.casefold()], remaining.replace(" .", ".").strip(_SEPARATORS)


def _kind_from_id(item_id: str | None) -> RequirementKind | None:
    prefix = (item_id or "").upper()
    if prefix.startswith("NFR"):
        return RequirementKind.NON_FUNCTIONAL
    if prefix.startswith("FR"):
        return RequirementKind.FUNCTIONAL
    return None


def _assign_ids(items: Sequence[_Item], prefix: str, what: str, draft: _Draft) -> list[str]:
    """Reject a repeated id at its second use, then number id-less items with the first free ids."""
    first_seen: dict[str, int] = {}
    for item in items:
        if item.id is None:
            continue
        key = item.id.casefold()
        if key in first_seen:
            raise draft.error(
                f"duplicate {what} id {item.id} (first used at line {first_seen[key]})", item.line
            )
        first_seen[key] = item.line
    numbers = itertools.count(1)
    ids = []
    for item in items:
        item_id = item.id or next(
            candidate
            for candidate in (f"{prefix}-{number}" for number in numbers)
            if candidate.casefold() not in first_seen
        )
        ids.append(item_id)
    return ids


# ---------------------------------------------------------------- front matter


@dataclass(frozen=True)
class _Entry:
    """One front-matter key: its value, its line, and each list item's line for errors about items."""

    value: Any
    line: int
    item_lines: tuple[int, ...]


def _split_front_matter(text: str, draft: _Draft) -> tuple[str | None, str, int]:
    """Front matter, body, and how many lines precede the body (to turn body lines into file lines)."""
    lines = text.split("\n")
    if lines[0].rstrip() != _FRONT_MATTER_FENCE:
        return None, text, 0
    for index, line in enumerate(lines[1:], start=1):
        if line.rstrip() in _FRONT_MATTER_ENDS:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 1
    raise draft.error("the front matter opened by '---' is never closed by another '---' line", 1)


# libyaml's loader when PyYAML was built with it: the same nodes and marks, several times faster, which
# is what keeps a sensor tick over a thousand specs short.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _front_matter_entries(front_matter: str, draft: _Draft) -> dict[str, _Entry]:
    """Load the YAML keeping each key's line, which `yaml.safe_load` alone would throw away."""
    loader = _YAML_LOADER(front_matter)
    try:
        root = loader.get_single_node()
        if root is None:
            return {}
        if not isinstance(root, yaml.MappingNode):
            shape = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
            raise draft.error(f"the front matter must be a mapping of keys to values, not {shape}", 2)
        return _mapping_entries(loader, root, draft)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 2 if exc.problem_mark else None
        raise draft.error(f"the front matter is not valid YAML: {exc.problem or exc}", line) from None
    except yaml.YAMLError as exc:
        raise draft.error(f"the front matter is not valid YAML: {exc}", 2) from None
    finally:
        loader.dispose()


def _mapping_entries(loader: yaml.SafeLoader, root: yaml.MappingNode, draft: _Draft) -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 2
        key = loader.construct_object(key_node, deep=True)
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
            else loader.construct_object(value_node, deep=True)
        )
        entries[key] = _Entry(value, line, item_lines)
    return entries


def _read_front_matter(front_matter: str, draft: _Draft) -> None:
    for key, entry in _front_matter_entries(front_matter, draft).items():
        words = _label_words(key)
        if words == "requirements":
            draft.requirements.extend(_front_matter_items(entry, key, draft, with_priority=True))
        elif words == "acceptance criteria":
            draft.acceptance.extend(_front_matter_items(entry, key, draft, with_priority=False))
        elif words == "api":
            draft.api.extend(_front_matter_strings(entry, key, draft))
        elif (target := _FIELD_ALIASES.get(words)) is not None:
            draft.set(target, _field_value(target, entry.value, entry.line, draft), entry.line)


def _front_matter_strings(entry: _Entry, key: str, draft: _Draft) -> list[str]:
    if not isinstance(entry.value, list):
        raise draft.error(f"{key} must be a list of strings", entry.line)
    for value, line in zip(entry.value, entry.item_lines, strict=True):
        if not isinstance(value, str) or not value.strip():
            raise draft.error(f"each {key} entry must be a non-empty string, not {value!r}", line)
    return [value.strip() for value in entry.value]


def _front_matter_items(entry: _Entry, key: str, draft: _Draft, *, with_priority: bool) -> list[_Item]:
    if not isinstance(entry.value, list):
        raise draft.error(f"{key} must be a list", entry.line)
    items = []
    for value, line in zip(entry.value, entry.item_lines, strict=True):
        if isinstance(value, str):
            item = _parse_item(value, line, with_priority=with_priority)
        elif _is_id_mapping(value):
            # `- FR-1: Add two numbers` unquoted is {"FR-1": "Add two numbers"} to YAML, meant as id and text.
            ((item_id, text),) = value.items()
            item = _parse_item(f"{item_id}: {text}", line, with_priority=with_priority)
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
    return isinstance(key, str) and isinstance(text, str) and _WHOLE_ID_RE.fullmatch(key) is not None


def _front_matter_item(
    value: dict[Any, Any], line: int, key: str, draft: _Draft, *, with_priority: bool
) -> _Item:
    text = value.get("text")
    if not isinstance(text, str) or not text.strip():
        # `- f("a: b") is True` is a one-key mapping to YAML; say so rather than leave the author puzzled.
        hint = "" if "text" in value else "; an entry whose text contains ': ' must be quoted"
        raise draft.error(f"this {key} entry needs a non-empty 'text'{hint}", line)
    item_id = value.get("id")
    if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, str | int)):
        raise draft.error(f"the id of this {key} entry must be text such as FR-1, not {item_id!r}", line)
    item_id = None if item_id is None else str(item_id).strip()
    kind = _kind_from_id(item_id)
    priority = None
    if with_priority:
        kind = _lookup(value, "kind", _KINDS, line, draft) or kind
        priority = _lookup(value, "priority", _PRIORITIES, line, draft)
    return _Item(item_id or None, text.strip(), line, kind, priority)


def _lookup(
    value: dict[Any, Any], key: str, choices: dict[str, _Choice], line: int, draft: _Draft
) -> _Choice | None:
    given = value.get(key)
    if given is None:
        return None
    found = choices.get(str(given).strip().casefold().replace("-", "_"))
    if found is None:
        raise draft.error(f"unknown {key} {given!r}; use one of: {', '.join(choices)}", line)
    return found


# ---------------------------------------------------------------- Markdown body


class _Section(Enum):
    PREAMBLE = "preamble"
    OVERVIEW = "overview"
    REQUIREMENTS = "requirements"
    ACCEPTANCE = "acceptance"
    SUCCESS = "success"
    API = "api"
    METADATA = "metadata"
    OTHER = "other"


# Sections that keep their subheadings ("### Arithmetic", "### Details" under Requirements); only
# another of them ("### Acceptance Criteria") opens a new section below one.
_LIST_SECTIONS = frozenset({_Section.REQUIREMENTS, _Section.ACCEPTANCE, _Section.SUCCESS, _Section.API})
_SECTION_PATTERNS = tuple(
    (section, re.compile(pattern, re.IGNORECASE))
    for section, pattern in (
        (_Section.ACCEPTANCE, r"\bacceptance\b"),
        (_Section.SUCCESS, r"\bsuccess (?:criteria|metrics)\b|\bquality (?:gates?|criteria)\b"),
        (_Section.SUCCESS, r"\bdefinition of done\b"),
        (_Section.REQUIREMENTS, r"\brequirements?\b|^(?:non[-\s]?)?functional$"),
        (_Section.API, r"\bapis?\b|\binterfaces?\b"),
        (_Section.OVERVIEW, r"^(?:overview|summary|description|purpose|introduction)$"),
        (_Section.METADATA, r"\bmetadata\b|\binformation\b|^details$|^configuration$|^deployment$"),
    )
)
# Bold fields count only where a template puts them: a `**Source:**` under "## Dependencies" is no path.
_FIELD_SECTIONS = frozenset({_Section.PREAMBLE, _Section.OVERVIEW, _Section.METADATA})


@dataclass(frozen=True)
class _Text:
    """One line or one list item as plain text, with a leading `**Label:**` split off if it has one.

    `marked` keeps inline code in backticks: requirement and criterion text stays Markdown, where a
    code span is an identifier or an expression, while fields and API entries want the bare value.
    """

    text: str
    marked: str
    line: int
    label: str | None = None
    value: str = ""


@dataclass(frozen=True)
class _Block:
    kind: str  # "heading", "paragraph", "item" or "code"
    texts: tuple[_Text, ...]
    level: int = 0


@dataclass(frozen=True)
class _Heading:
    level: int
    section: _Section
    kind: RequirementKind | None


def _read_body(body: str, offset: int, draft: _Draft) -> None:
    """Walk the body's blocks, keeping a stack of open headings to know which section a block is in."""
    headings: list[_Heading] = []
    for block in _blocks(_MARKDOWN.parse(body), offset):
        if block.kind == "heading":
            _enter_heading(block, headings, draft)
            continue
        current = headings[-1] if headings else _Heading(0, _Section.PREAMBLE, None)
        _read_block(block, current, draft)


def _enter_heading(block: _Block, headings: list[_Heading], draft: _Draft) -> None:
    heading = block.texts[0]
    while headings and headings[-1].level >= block.level:
        headings.pop()
    section = _classify_heading(heading.text)
    if block.level == 1 and draft.title is None and section is _Section.OTHER:
        draft.title = _Located(_name_from_title(heading.text), heading.line)
        headings.append(_Heading(1, _Section.PREAMBLE, None))
        return
    enclosing = headings[-1] if headings else None
    inherited = enclosing if enclosing is not None and enclosing.section in _LIST_SECTIONS else None
    if section not in _LIST_SECTIONS and inherited is not None:
        section = inherited.section
        if section is _Section.API:
            draft.api.append(heading.text)
    kind = _kind_from_heading(heading.text) or (inherited.kind if inherited else None)
    if section is _Section.REQUIREMENTS and draft.requirements_heading_line is None:
        draft.requirements_heading_line = heading.line
    headings.append(_Heading(block.level, section, kind))


def _classify_heading(text: str) -> _Section:
    for section, pattern in _SECTION_PATTERNS:
        if pattern.search(text.strip()):
            return section
    return _Section.OTHER


def _kind_from_heading(text: str) -> RequirementKind | None:
    if _NON_FUNCTIONAL_RE.search(text):
        return RequirementKind.NON_FUNCTIONAL
    if _FUNCTIONAL_RE.search(text):
        return RequirementKind.FUNCTIONAL
    return None


def _name_from_title(title: str) -> str | None:
    """`Component Specification: X`, `X Specification` and plain `X` all name X."""
    name = _TITLE_SUFFIX_RE.sub("", _TITLE_PREFIX_RE.sub("", title)).strip()
    return name or None


def _read_block(block: _Block, heading: _Heading, draft: _Draft) -> None:
    section = heading.section
    if section is _Section.REQUIREMENTS:
        draft.requirements.extend(
            replace(item, kind=item.kind or heading.kind) for item in _listed_items(block, with_priority=True)
        )
    elif section is _Section.ACCEPTANCE:
        draft.acceptance.extend(_listed_items(block, with_priority=False))
    elif section is _Section.SUCCESS and block.kind in ("item", "paragraph"):
        for text in block.texts:
            _read_success_criterion(text, draft)
    elif section is _Section.API:
        draft.api.extend(_api_entries(block))
    elif section in _FIELD_SECTIONS:
        _read_fields_and_prose(block, section, draft)


def _listed_items(block: _Block, *, with_priority: bool) -> Iterator[_Item]:
    """Every bullet is an item; in a paragraph only lines that start with an id (`FR-3: ...`) are."""
    for text in block.texts if block.kind in ("item", "paragraph") else ():
        item = _parse_item(text.marked, text.line, with_priority=with_priority)
        if item is not None and (block.kind == "item" or item.id is not None):
            yield item


def _read_success_criterion(text: _Text, draft: _Draft) -> None:
    """Coverage and lint gates, clause by clause ("coverage >= 80% and branch coverage >= 70%").

    The pipeline gates on line coverage, so a clause about branch coverage sets no threshold.
    """
    for clause in _CLAUSE_SPLIT_RE.split(text.text):
        lowered = clause.casefold()
        threshold = _percent_in(clause) if "coverage" in lowered and "branch" not in lowered else None
        if threshold is not None:
            draft.set("coverage_threshold", _coverage_threshold(threshold, text.line, draft), text.line)
    if _LINT_RE.search(text.text):
        draft.set("lint_clean", True, text.line)


def _api_entries(block: _Block) -> Iterator[str]:
    """Bullets as written; from a code block, the `def`/`class` lines (a template's usual API sketch)."""
    if block.kind == "item":
        yield from (text.text for text in block.texts if text.text)
    elif block.kind == "code":
        for text in block.texts:
            line = text.text.strip()
            if line.startswith(("def ", "async def ", "class ")):
                yield line.removesuffix("...").rstrip().removesuffix(":").rstrip()


def _read_fields_and_prose(block: _Block, section: _Section, draft: _Draft) -> None:
    """Known `**Label:** value` lines set fields; the first unlabelled paragraph may become the summary."""
    prose = []
    for text in block.texts:
        target = _FIELD_ALIASES.get(text.label) if text.label else None
        if target is not None:
            draft.set(target, _field_value(target, text.value, text.line, draft), text.line)
        elif text.label is None:
            prose.append(text.text)
    if block.kind != "paragraph" or not prose:
        return
    if section is _Section.OVERVIEW and draft.overview is None:
        draft.overview = " ".join(prose)
    elif section is _Section.PREAMBLE and draft.preamble is None:
        draft.preamble = " ".join(prose)


# ---------------------------------------------------------------- tokens -> blocks


def _blocks(tokens: Sequence[Token], offset: int) -> Iterator[_Block]:
    """Flatten markdown-it tokens into headings, paragraphs, top-level list items and code blocks.

    A nested bullet belongs to its top-level item ("FR-1: supports: - addition - subtraction"), so
    items are only cut at the outermost list level.
    """
    depth = 0
    item: list[tuple[int, Token]] | None = None
    item_line = 0
    for index, token in enumerate(tokens):
        line = (token.map[0] if token.map else 0) + offset + 1
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "list_item_open" and depth == 1:
            item, item_line = [], line
        elif token.type == "list_item_close" and depth == 1 and item is not None:
            yield _Block("item", (_item_text(item, item_line),))
            item = None
        elif token.type == "inline" and item is not None:
            item.append((depth, token))
        elif token.type == "inline" and index > 0 and tokens[index - 1].type == "heading_open":
            level = int(tokens[index - 1].tag[1:])
            yield _Block("heading", (_text(token.children or [], line),), level)
        elif token.type == "inline":
            yield _Block("paragraph", tuple(_inline_lines(token, line)))
        elif token.type in ("fence", "code_block") and item is None:
            yield _Block("code", tuple(_Text(code, code, line) for code in token.content.split("\n")))


def _inline_lines(inline: Token, first_line: int) -> Iterator[_Text]:
    lines: list[list[Token]] = [[]]
    for child in inline.children or []:
        if child.type in _LINE_BREAKS:
            lines.append([])
        else:
            lines[-1].append(child)
    for number, children in enumerate(lines):
        yield _text(children, first_line + number)


def _item_text(inlines: Sequence[tuple[int, Token]], line: int) -> _Text:
    """An item's own paragraphs joined by spaces, its nested bullets appended with '; ' between them."""
    if not inlines:
        return _Text("", "", line)
    own = [_text(token.children or [], line) for depth, token in inlines if depth == 1]
    nested = [_text(token.children or [], line) for depth, token in inlines if depth > 1]
    first_line = next(_inline_lines(inlines[0][1], line))
    return _Text(
        _join_item([part.text for part in own], [part.text for part in nested]),
        _join_item([part.marked for part in own], [part.marked for part in nested]),
        line,
        first_line.label,
        first_line.value,
    )


def _join_item(own: list[str], nested: list[str]) -> str:
    return f"{' '.join(own)} {'; '.join(nested)}".strip()


def _text(children: Sequence[Token], line: int) -> _Text:
    label, value = _bold_label(children)
    return _Text(_plain(children), _plain(children, code_marks=True), line, label, value)


def _bold_label(children: Sequence[Token]) -> tuple[str | None, str]:
    """`**Version:** 1.2` and `**Version**: 1.2` give ("version", "1.2"); anything else has no label."""
    tokens = [child for child in children if not (child.type == "text" and not child.content.strip())]
    if not tokens or tokens[0].type != "strong_open":
        return None, ""
    close = next((index for index, token in enumerate(tokens) if token.type == "strong_close"), None)
    if close is None:
        return None, ""
    label = _plain(tokens[1:close])
    rest = _plain(tokens[close + 1 :])
    if label.endswith(":"):
        label = label[:-1]
    elif rest.startswith(":"):
        rest = rest[1:]
    else:
        return None, ""
    return _label_words(label), rest.strip()


def _label_words(label: str) -> str:
    """`Component ID`, `component_id` and `component-id` all read as "component id"."""
    return " ".join(label.casefold().replace("_", " ").replace("-", " ").split())


def _plain(children: Sequence[Token], *, code_marks: bool = False) -> str:
    """Inline tokens as a reader sees them: emphasis and links dropped, code spans kept verbatim."""
    parts = []
    for child in children:
        if child.type == "text":
            parts.append(_WHITESPACE_RE.sub(" ", child.content))
        elif child.type == "code_inline":
            parts.append(f"{child.markup}{child.content}{child.markup}" if code_marks else child.content)
        elif child.type in _LINE_BREAKS:
            parts.append(" ")
        elif child.type == "image":
            parts.append(_plain(child.children or [], code_marks=code_marks))
    return "".join(parts).strip()


# ---------------------------------------------------------------- assembling the model


def _build(draft: _Draft, sha256: str) -> ComponentSpec:
    name = _name(draft)
    slug = draft.fields.get("slug") or _Located(slugify(name.value), name.line)
    if not slug.value:
        raise draft.error(f"cannot make a component id from the name {name.value!r}; give one", name.line)
    requirements = _requirements(draft)
    acceptance = _acceptance_criteria(draft)
    summary = draft.fields.get("summary")
    coverage = draft.fields.get("coverage_threshold")
    lint_clean = draft.fields.get("lint_clean")
    lines = {key: located.line for key, located in draft.fields.items()} | {"name": name.line}
    lines["slug"] = slug.line
    try:
        return ComponentSpec(
            name=name.value,
            slug=slug.value,
            version=_field_or(draft, "version", "0.1.0"),
            summary=summary.value if summary else draft.overview or draft.preamble or "",
            requirements=requirements,
            acceptance_criteria=acceptance,
            api=tuple(dict.fromkeys(draft.api)),
            quality_gates=QualityGates(
                coverage_threshold_pct=coverage.value if coverage else 80.0,
                lint_clean=lint_clean.value if lint_clean else True,
            ),
            source_path=_field_or(draft, "source_path", f"src/{slug.value}"),
            tests_path=_field_or(draft, "tests_path", f"tests/{slug.value}"),
            target_stage=_field_or(draft, "target_stage", Stage.PRODUCTION),
            spec_path=draft.path,
            spec_sha256=sha256,
        )
    except ValidationError as exc:
        raise _spec_error_from(exc, draft, lines) from None


def _field_or(draft: _Draft, key: str, default: Any) -> Any:
    located = draft.fields.get(key)
    return located.value if located else default


def _name(draft: _Draft) -> _Located:
    """A `name` field wins over the title: a title may say more than the name ("X: a tiny example")."""
    if "name" in draft.fields:
        return draft.fields["name"]
    if draft.title is not None and draft.title.value:
        return draft.title
    raise draft.error(
        "the component has no name: start the spec with a '# <Name>' title "
        "or give 'name:' in the front matter",
        draft.title.line if draft.title else None,
    )


def _requirements(draft: _Draft) -> tuple[Requirement, ...]:
    if not draft.requirements:
        if draft.requirements_heading_line is not None:
            raise draft.error(
                "the requirements section lists no requirements; add bullets such as '- FR-1: ...'",
                draft.requirements_heading_line,
            )
        raise draft.error(
            "no requirements: add a '## Requirements' section with bullets such as '- FR-1: ...' "
            "or a 'requirements' list in the front matter"
        )
    ids = _assign_ids(draft.requirements, "R", "requirement", draft)
    for item, item_id in zip(draft.requirements, ids, strict=True):
        if not item.text:
            raise draft.error(f"requirement {item_id} has no text", item.line)
    return tuple(
        Requirement(
            id=item_id,
            text=item.text,
            kind=item.kind or RequirementKind.FUNCTIONAL,
            priority=item.priority or Priority.MUST,
        )
        for item, item_id in zip(draft.requirements, ids, strict=True)
    )


def _acceptance_criteria(draft: _Draft) -> tuple[AcceptanceCriterion, ...]:
    ids = _assign_ids(draft.acceptance, "AC", "acceptance criterion", draft)
    for item, item_id in zip(draft.acceptance, ids, strict=True):
        if not item.text:
            raise draft.error(f"acceptance criterion {item_id} has no text", item.line)
    return tuple(
        AcceptanceCriterion(id=item_id, text=item.text)
        for item, item_id in zip(draft.acceptance, ids, strict=True)
    )


def _spec_error_from(exc: ValidationError, draft: _Draft, lines: dict[str, int]) -> SpecError:
    """The model's own checks (the slug's form, say) are the last line of defence; keep their line too."""
    error = exc.errors()[0]
    location = [str(part) for part in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    problem = message if error["type"] == "value_error" else f"{'.'.join(location)}: {message}"
    return draft.error(problem, lines.get(location[0]) if location else None)
