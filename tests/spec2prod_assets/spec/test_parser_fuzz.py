"""Fuzzing the spec parser: whatever the text, the answer is a `ComponentSpec` or a `SpecError`, fast.

Inputs are structure-aware so they get past the first line: front matter built from the keys the parser
knows and values YAML finds awkward (dates that do not exist, huge integers, explicit tags, aliases,
control characters), bodies built from the template's sections, and mutations of the bundled specs and
of a real-looking template spec. The small run is part of the fast tier; the 10,000-input run is marked
`slow` (`make test` runs it).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec2prod_assets.spec.model import ComponentSpec, SpecError
from spec2prod_assets.spec.parser import PARSER_FAULT, parse_spec_text
from spec2prod_assets.spec.schema import KEY_SPELLINGS
from tests.conftest import REPO_ROOT

SPEC_PATH = "specs/fuzz.md"
PER_INPUT_S = 1.0
BUNDLED = [
    path.read_text(encoding="utf-8") for path in sorted((REPO_ROOT / "examples/demo/specs").glob("*.md"))
]
TEMPLATE = """# Component Specification: Calculator

**Component ID:** calculator
**Version:** 1.2.0
**Target Stage:** staging

## Overview
A small arithmetic library.

## Requirements
### Functional Requirements
- **FR-1**: Add two numbers. (Must)
- FR-2: Divide, rejecting a zero divisor [SHOULD]
### Non-Functional Requirements
- **NFR-1**: No I/O. Priority: Low

## API
```python
def add(a: float, b: float) -> float: ...
```

## Acceptance Criteria
- AC-1: `add(2, 3) == 5`
- [ ] `divide(1, 0)` raises `ValueError`

## Success Criteria
- Test coverage >= 85% and branch coverage >= 85%
- No lint violations

## Dependencies
- `requests>=2.31`: HTTP calls
"""
SEEDS = [*BUNDLED, TEMPLATE]

AWKWARD_SCALARS = [
    "2024-02-30",
    "2024-13-01",
    "2024-01-01",
    "9" * 4400,
    "9" * 400,
    "-1",
    "1e999",
    ".nan",
    ".inf",
    "!!int abc",
    "!!timestamp x",
    "!!bool maybe",
    "!!float x",
    "!!binary '@@'",
    "!!set {a}",
    "!!omap [1]",
    "!!python/object:os.system x",
    "&a x",
    "*a",
    "*zz",
    "[*a, *a]",
    '"\\0"',
    '"\\e"',
    "~",
    "null",
    "yes",
    "[]",
    "{}",
    "[[[[[]]]]]",
    "{a: [b, {c: d}]}",
    "'" + "x" * 300 + "'",
    "|\n  block\n  text",
    "<<: *a",
    "'80%'",
    "85",
    "0x10",
    "0o7",
    "1_000",
    "true",
    "-",
    "? x",
    "staging",
    "moon",
    "../x",
    "/abs",
    "src/x",
    "0.8",
    "1.0",
    "[requests>=2, 'python>=3']",
    "[alice, bob]",
    "branch",
]
BODY_LINES = [
    "# Calc",
    "# Component Specification: Calc",
    "## Requirements",
    "### Functional Requirements",
    "### Non-Functional Requirements",
    "## Acceptance Criteria",
    "## Success Criteria",
    "## API",
    "## Overview",
    "## Metadata",
    "## Dependencies",
    "## Definition of Done",
    "## Quality Gates",
    "- requests>=2.31",
    "- not a requirement",
    "- python>=3.11",
    "- None",
    "**Owner:** alice, bob",
    "**Dependencies:** click, requests>=2,<3",
    "**Sorce Path:** lib",
    "**Note:** prose",
    "**Allow No Tests:** yes",
    "**Coverage Kind:** branch",
    "- branch coverage >= 70%",
    "- line coverage >= 70%",
    "- coverage of at least ninety percent",
    "- coverage >= 0.8",
    "- No new lint violations",
    "- FR-1: Add.",
    "- FR-1: Add again.",
    "- NFR-2: Fast (Must)",
    "- [ ] checked",
    "- ",
    "- **FR-3**: bold id",
    "**Component ID:** calc",
    "**Component ID:** Bad Slug",
    "**Version:** 1.0",
    "**Target Stage:** moon",
    "**Coverage:** 101%",
    "- coverage >= 80%",
    "- coverage >= " + "9" * 400 + "%",
    "```python",
    "def f(x): ...",
    "```",
    "> quote",
    "    code",
    "1. ordered",
    "  - nested",
    "---",
    "...",
    "\x00",
    "\x1b[31m",
    "\ufeff",
    "\r",
    "\udcff",
    "*" * 50,
    "[" * 50,
    "`" * 20,
    "<!-- -->",
    "| a | b |",
]


def _front_matter_line(key: str, value: str) -> str:
    return f"{key}: {value}"


front_matter = st.lists(
    st.builds(
        _front_matter_line,
        st.sampled_from([*KEY_SPELLINGS, "created", "a", "x-team", "coverge_threshold"]),
        st.one_of(st.sampled_from(AWKWARD_SCALARS), st.text(max_size=30)),
    ),
    max_size=8,
).map(lambda lines: "---\n" + "\n".join(lines) + "\n---\n")
body = st.lists(st.one_of(st.sampled_from(BODY_LINES), st.text(max_size=40)), max_size=25).map("\n".join)
structured = st.builds(lambda fm, b, with_fm: (fm if with_fm else "") + b, front_matter, body, st.booleans())


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A bundled or real-looking spec with a few lines replaced, inserted, deleted or duplicated."""
    lines = draw(st.sampled_from(SEEDS)).split("\n")
    for _ in range(draw(st.integers(1, 6))):
        index = draw(st.integers(0, len(lines)))
        action = draw(st.sampled_from(["replace", "insert", "delete", "duplicate", "splice"]))
        fragment = draw(st.one_of(st.sampled_from(BODY_LINES + AWKWARD_SCALARS), st.text(max_size=20)))
        if action == "insert" or not lines:
            lines.insert(index, fragment)
        elif action == "replace":
            lines[min(index, len(lines) - 1)] = fragment
        elif action == "delete":
            del lines[min(index, len(lines) - 1)]
        elif action == "duplicate":
            lines.insert(index, lines[min(index, len(lines) - 1)] * draw(st.integers(1, 50)))
        else:
            line = lines[min(index, len(lines) - 1)]
            cut = draw(st.integers(0, len(line)))
            lines[min(index, len(lines) - 1)] = line[:cut] + fragment + line[cut:]
    return "\n".join(lines)


spec_texts = st.one_of(structured, mutated(), st.text(max_size=200))


def check_one(text: str) -> None:
    """The oracle. Time is the process's CPU time: CI and other jobs share the cores, and a busy
    machine stretching wall-clock time says nothing about the parser."""
    started = time.process_time()
    try:
        result = parse_spec_text(text, spec_path=SPEC_PATH)
    except SpecError as exc:
        assert PARSER_FAULT not in str(exc), str(exc)
        assert str(exc).startswith(SPEC_PATH)
        assert len(str(exc)) < 2000
    else:
        assert isinstance(result, ComponentSpec)
    assert time.process_time() - started < PER_INPUT_S


_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


@settings(max_examples=200, **_COMMON)
@given(spec_texts)
def test_parser_gives_a_spec_or_a_spec_error_for_generated_specs(text: str) -> None:
    check_one(text)


@pytest.mark.slow
@settings(max_examples=10_000, **_COMMON)
@given(spec_texts)
def test_parser_gives_a_spec_or_a_spec_error_for_ten_thousand_generated_specs(text: str) -> None:
    check_one(text)


def test_bundled_specs_survive_the_fuzz_oracle() -> None:
    for seed in SEEDS:
        assert isinstance(parse_spec_text(seed, spec_path=SPEC_PATH), ComponentSpec)


def test_fuzz_seeds_are_the_bundled_specs() -> None:
    assert len(BUNDLED) == len(list(Path(REPO_ROOT / "examples/demo/specs").glob("*.md"))) >= 2
