"""A tiny real component with coverage gaps, for the generation, funnel and release tests.

`src/<slug>/ops.py` has plain functions and branches; the baseline test covers `add` and the positive
branch of `sign` only, so `sign`'s other branches and `safe_div` are gaps a generated test can fill.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from spec2prod_assets.project.layout import ComponentLayout
from spec2prod_assets.spec.model import AcceptanceCriterion, ComponentSpec, QualityGates, Requirement
from spec2prod_assets.testing import pytest_run as test_runner
from tests.support.layouts import layout_of

SLUG = "mathy"
TIMEOUT_S = 60.0

OPS = dedent(
    """\
    def add(a, b):
        return a + b


    def sign(x):
        if x > 0:
            return 1
        if x < 0:
            return -1
        return 0


    def safe_div(a, b):
        if b == 0:
            raise ValueError("division by zero")
        return a / b
    """
)

WORDS = dedent(
    """\
    def shout(text):
        if not text:
            return ""
        return text.upper() + "!"
    """
)

BASELINE_TEST = dedent(
    """\
    from {slug}.ops import add, sign


    def test_add():
        assert add(2, 3) == 5


    def test_sign_of_a_positive_number():
        assert sign(4) == 1
    """
)


def source_dir(slug: str = SLUG) -> str:
    return f"src/{slug}"


def component_tests(slug: str = SLUG) -> str:
    return f"tests/{slug}"


def write_gap_component(tree: Path, slug: str = SLUG, *, ops: str = OPS, with_words: bool = False) -> Path:
    """`tree/src/<slug>/{__init__,ops[,words]}.py` and `tree/tests/<slug>/test_ops.py`."""
    package = tree / source_dir(slug)
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A tiny component."""\n')
    (package / "ops.py").write_text(ops)
    if with_words:
        (package / "words.py").write_text(WORDS)
    tests = tree / component_tests(slug)
    tests.mkdir(parents=True)
    (tests / "test_ops.py").write_text(BASELINE_TEST.format(slug=slug))
    return tree


def run_baseline(tree: Path, output_dir: Path, slug: str = SLUG) -> test_runner.TestRun:
    """The component's own tests with coverage, exactly as `baseline_tests` runs them."""
    return test_runner.run_tests(tree, gap_layout(slug), output_dir=output_dir, timeout_s=TIMEOUT_S)


def gap_layout(slug: str = SLUG) -> ComponentLayout:
    """The layout `gap_spec` resolves to: the spec names its tests folder."""
    return layout_of(source_dir(slug), component_tests(slug), spec_path=f"specs/{slug}.md")


def gap_spec(
    slug: str = SLUG, *, coverage_threshold_pct: float = 80.0, lint_clean: bool = True
) -> ComponentSpec:
    return ComponentSpec(
        name="Mathy",
        slug=slug,
        version="0.3.0",
        summary="Small arithmetic helpers.",
        requirements=(
            Requirement(id="FR-1", text="`sign` returns -1, 0 or 1."),
            Requirement(id="FR-2", text="`safe_div` raises ValueError for a zero divisor."),
        ),
        acceptance_criteria=(AcceptanceCriterion(id="AC-1", text="`safe_div(1, 0)` raises ValueError."),),
        quality_gates=QualityGates(coverage_threshold_pct=coverage_threshold_pct, lint_clean=lint_clean),
        source_path=source_dir(slug),
        tests_path=component_tests(slug),
        spec_path=f"specs/{slug}.md",
        spec_sha256="ab" * 32,
    )
