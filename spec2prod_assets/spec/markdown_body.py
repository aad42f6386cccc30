"""The Markdown body: headings decide the section, sections decide what a paragraph or bullet means.

markdown-it tokens carry line numbers and already know lists, code and emphasis apart, so the body is
first flattened into blocks (headings, paragraphs, top-level items, code) and then read with a stack of
open headings; regular expressions only read the small inline things (a heading's words, `>= 80%`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from markdown_it import MarkdownIt
from markdown_it.token import Token

from spec2prod_assets.spec.draft import Draft, Located
from spec2prod_assets.spec.field_values import NOTHING, dependency, dependency_list, field_value
from spec2prod_assets.spec.gates import read_gates
from spec2prod_assets.spec.items import DASHES, Item, parse_item
from spec2prod_assets.spec.model import RequirementKind, clipped
from spec2prod_assets.spec.schema import KEY_SPELLINGS, closest_key, label_case, label_words

_MARKDOWN = MarkdownIt("commonmark")
_TITLE_PREFIX_RE = re.compile(rf"^(?:\w+\s+)?spec(?:ification)?\s*[:\-{DASHES}]\s*", re.IGNORECASE)
_TITLE_SUFFIX_RE = re.compile(rf"\s*[:\-{DASHES}]?\s*(?:component\s+)?spec(?:ification)?$", re.IGNORECASE)
_NON_FUNCTIONAL_RE = re.compile(r"non[-\s]?functional|\bnfrs?\b|quality attributes", re.IGNORECASE)
_FUNCTIONAL_RE = re.compile(r"\bfunctional\b", re.IGNORECASE)
_WHITESPACE_RE = re.compile(r"\s+")
_LINE_BREAKS = ("softbreak", "hardbreak")


class _Section(Enum):
    PREAMBLE = "preamble"
    OVERVIEW = "overview"
    REQUIREMENTS = "requirements"
    ACCEPTANCE = "acceptance"
    SUCCESS = "success"  # acceptance criteria and gates; a bullet that only states gates is no criterion
    GATES = "gates"  # gates only
    DEPENDENCIES = "dependencies"
    API = "api"
    METADATA = "metadata"
    OTHER = "other"


# Sections that keep their subheadings ("### Arithmetic", "### Details" under Requirements); only
# another of them ("### Acceptance Criteria") opens a new section below one.
_LIST_SECTIONS = frozenset(
    {
        _Section.REQUIREMENTS,
        _Section.ACCEPTANCE,
        _Section.SUCCESS,
        _Section.GATES,
        _Section.DEPENDENCIES,
        _Section.API,
    }
)
_SECTION_PATTERNS = tuple(
    (section, re.compile(pattern, re.IGNORECASE))
    for section, pattern in (
        (_Section.ACCEPTANCE, r"\bacceptance\b"),
        (_Section.SUCCESS, r"\bsuccess criteria\b|\bdefinition of done\b"),
        (_Section.GATES, r"\bsuccess metrics\b|\bquality (?:gates?|criteria)\b"),
        (_Section.DEPENDENCIES, r"^(?:(?:python|package|pip|pypi|runtime|third[- ]party)\s+)?dependencies$"),
        (_Section.REQUIREMENTS, r"\brequirements?\b|^(?:non[-\s]?)?functional$"),
        (_Section.API, r"\bapis?\b|\binterfaces?\b"),
        (_Section.OVERVIEW, r"^(?:overview|summary|description|purpose|introduction)$"),
        (_Section.METADATA, r"\bmetadata\b|\binformation\b|^details$|^configuration$|^deployment$"),
    )
)
# Bold fields count only where a template puts them: a `**Source:**` under "## Notes" is no path.
_FIELD_SECTIONS = frozenset({_Section.PREAMBLE, _Section.OVERVIEW, _Section.METADATA})
# Keys whose body form is a section, not a bold label: a `**Requirements:**` label is left to the prose.
_SECTION_KEYS = frozenset({"requirements", "acceptance_criteria", "api"})
_FIELD_LABELS = tuple(words for words, key in KEY_SPELLINGS.items() if key not in _SECTION_KEYS)
_TYPO_CUTOFF = 0.8


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


def read_body(body: str, offset: int, draft: Draft) -> None:
    """Walk the body's blocks, keeping a stack of open headings to know which section a block is in."""
    headings: list[_Heading] = []
    for block in _blocks(_MARKDOWN.parse(body), offset):
        if block.kind == "heading":
            _enter_heading(block, headings, draft)
            continue
        current = headings[-1] if headings else _Heading(0, _Section.PREAMBLE, None)
        _read_block(block, current, draft)


def _enter_heading(block: _Block, headings: list[_Heading], draft: Draft) -> None:
    heading = block.texts[0]
    while headings and headings[-1].level >= block.level:
        headings.pop()
    section = _classify_heading(heading.text)
    if block.level == 1 and draft.title is None and section is _Section.OTHER:
        draft.title = Located(_name_from_title(heading.text), heading.line)
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


def _read_block(block: _Block, heading: _Heading, draft: Draft) -> None:
    section = heading.section
    if section is _Section.REQUIREMENTS:
        draft.requirements.extend(
            replace(item, kind=item.kind or heading.kind) for item in _listed_items(block, with_priority=True)
        )
    elif section is _Section.ACCEPTANCE:
        draft.acceptance.extend(_listed_items(block, with_priority=False))
    elif section in (_Section.SUCCESS, _Section.GATES):
        for text in block.texts if block.kind in ("item", "paragraph") else ():
            # A bullet that only states gates is no criterion: no test could ever claim it.
            gate_only = read_gates(text.text, text.line, draft)
            if section is _Section.SUCCESS and not gate_only:
                item = _listed_item(text, block.kind, with_priority=False)
                if item is not None:
                    draft.acceptance.append(item)
    elif section is _Section.DEPENDENCIES:
        draft.dependencies.extend(_dependencies(block, draft))
    elif section is _Section.API:
        draft.api.extend(_api_entries(block))
    elif section in _FIELD_SECTIONS:
        _read_fields_and_prose(block, section, draft)


def _listed_items(block: _Block, *, with_priority: bool) -> Iterator[Item]:
    for text in block.texts if block.kind in ("item", "paragraph") else ():
        item = _listed_item(text, block.kind, with_priority=with_priority)
        if item is not None:
            yield item


def _listed_item(text: _Text, block_kind: str, *, with_priority: bool) -> Item | None:
    """Every bullet is an item; in a paragraph only lines that start with an id (`FR-3: ...`) are."""
    item = parse_item(text.marked, text.line, with_priority=with_priority)
    return item if item is not None and (block_kind == "item" or item.id is not None) else None


def _dependencies(block: _Block, draft: Draft) -> Iterator[str]:
    """One requirement per bullet (or per line of a requirements.txt-style code block); prose is prose.

    A bullet that starts with a code span may explain itself after it: "`requests>=2.31`: HTTP calls".
    """
    if block.kind == "item":
        for text in block.texts:
            written = _leading_code_span(text.marked) or text.text
            if written.strip().casefold().rstrip(".") not in NOTHING:
                yield dependency(written, text.line, draft)
    elif block.kind == "code":
        for text in block.texts:
            line = text.text.strip()
            if line and not line.startswith("#"):
                yield dependency(line, text.line, draft)


def _leading_code_span(marked: str) -> str | None:
    match = re.match(r"(`+)(.+?)\1", marked)
    return match.group(2) if match else None


def _api_entries(block: _Block) -> Iterator[str]:
    """Bullets as written; from a code block, the `def`/`class` lines (a template's usual API sketch)."""
    if block.kind == "item":
        yield from (text.text for text in block.texts if text.text)
    elif block.kind == "code":
        for text in block.texts:
            line = text.text.strip()
            if line.startswith(("def ", "async def ", "class ")):
                yield line.removesuffix("...").rstrip().removesuffix(":").rstrip()


def _read_fields_and_prose(block: _Block, section: _Section, draft: Draft) -> None:
    """Known `**Label:** value` lines set fields; the first unlabelled paragraph may become the summary."""
    prose = []
    for text in block.texts:
        if text.label is None:
            prose.append(text.text)
        else:
            _read_field(text, text.label, draft)
    if block.kind != "paragraph" or not prose:
        return
    if section is _Section.OVERVIEW and draft.overview is None:
        draft.overview = " ".join(prose)
    elif section is _Section.PREAMBLE and draft.preamble is None:
        draft.preamble = " ".join(prose)


def _read_field(text: _Text, label: str, draft: Draft) -> None:
    """A known label sets its field; an unknown one is prose (`**Note:**`) unless it is a near miss of a
    known one (`**Sorce Path:**`), which would otherwise drop the value without a word."""
    target = KEY_SPELLINGS.get(label_words(label))
    if target is None:
        typo = closest_key(label, _FIELD_LABELS, _TYPO_CUTOFF)
        if typo is not None:
            shown = clipped(label, 60)
            raise draft.error(f"unknown label {shown!r}; did you mean {label_case(typo)!r}?", text.line)
    elif target == "dependencies":
        draft.dependencies.extend(dependency_list(text.value, text.line, draft))
    elif target not in _SECTION_KEYS:
        draft.set(target, field_value(target, text.value, text.line, draft), text.line)


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
    """`**Version:** 1.2` and `**Version**: 1.2` give ("Version", "1.2"); anything else has no label."""
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
    return label.strip(), rest.strip()


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
