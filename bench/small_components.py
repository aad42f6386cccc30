"""Small, distinct components for throughput benchmarks: many specs whose runs each cost little CPU.

Each component differs in its constants (so no generation or funnel cache entry of one answers another)
and keeps one branch its own tests leave uncovered, so `generated_tests` has real CrossHair work to do.
"""

from __future__ import annotations

from pathlib import Path

_MODULE = '''\
"""Unit {n}: small integer helpers."""


def scale(value: int) -> int:
    """The value times {factor}."""
    return value * {factor}


def bounded(value: int, limit: int) -> int:
    """The value, at most `limit`; a negative limit is refused."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    return min(value, limit)


def label(value: int) -> str:
    """'high' from {threshold} on, else 'low'."""
    if value >= {threshold}:
        return "high"
    return "low"
'''

_TESTS = """\
import pytest

from {slug} import bounded, label, scale


def test_scale_multiplies_by_{factor}():
    assert scale(2) == {double}


def test_bounded_caps_at_the_limit():
    assert bounded(10, 3) == 3


def test_bounded_refuses_a_negative_limit():
    with pytest.raises(ValueError):
        bounded(1, -1)


def test_label_of_a_large_value_is_high():
    assert label({threshold}) == "high"
"""

_SPEC = """\
---
name: Unit {n}
slug: {slug}
version: 1.0.0
summary: Small integer helpers number {n}, generated for a throughput benchmark.
target_stage: {stage}
coverage_threshold: 60
requirements:
  - id: FR-1
    text: scale(value) returns value times {factor}.
    priority: must
  - id: FR-2
    text: bounded(value, limit) returns min(value, limit) and raises ValueError for a negative limit.
    priority: must
  - id: FR-3
    text: label(value) is "high" from {threshold} on and "low" below it.
    priority: should
acceptance_criteria:
  - 'scale(2) == {double}'
  - 'bounded(10, 3) == 3'
  - 'label({below}) == "low"'
api:
  - "scale(value: int) -> int"
  - "bounded(value: int, limit: int) -> int"
  - "label(value: int) -> str"
---

# Unit {n}

Three pure functions; the spec exists to be run many times at once.
"""


def small_component(project: Path, n: int, *, target_stage: str) -> tuple[str, str]:
    """Write component `unit_<n>` (code and tests) into `project`; returns its slug and spec text, which the
    caller drops into specs/ when the run should start."""
    slug = f"unit_{n:03d}"
    values = {
        "n": n,
        "slug": slug,
        "stage": target_stage,
        "factor": n + 2,
        "double": 2 * (n + 2),
        "threshold": 10 * n + 7,
        "below": 10 * n + 6,
    }
    package = project / "src" / slug
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(_MODULE.format(**values), encoding="utf-8")
    tests = project / "tests" / slug
    tests.mkdir(parents=True)
    (tests / f"test_{slug}.py").write_text(_TESTS.format(**values), encoding="utf-8")
    return slug, _SPEC.format(**values)
