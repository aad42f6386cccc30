"""Gates read from the words of a Success Criteria list: thresholds, line or branch, lint clean or not."""

from __future__ import annotations

import pytest

from spec2prod_assets.spec.model import ComponentSpec, CoverageKind, SpecError
from spec2prod_assets.spec.parser import parse_spec_text

HEAD = "# Calc\n## Requirements\n- Add.\n## Success Criteria\n"


def parse(*bullets: str) -> ComponentSpec:
    return parse_spec_text(HEAD + "".join(f"- {bullet}\n" for bullet in bullets), spec_path="specs/x.md")


def error(*bullets: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse(*bullets)
    return str(caught.value)


@pytest.mark.parametrize(
    ("bullet", "kind"),
    [
        ("Branch coverage >= 85%", CoverageKind.BRANCH),
        ("85% branch coverage", CoverageKind.BRANCH),
        ("Line coverage of at least 85 percent", CoverageKind.LINE),
        ("Statement coverage >= 85%", CoverageKind.LINE),
    ],
)
def test_the_coverage_kind_is_read_from_the_words(bullet: str, kind: CoverageKind) -> None:
    gates = parse(bullet).quality_gates

    assert (gates.coverage_threshold_pct, gates.coverage_kind) == (85.0, kind)


def test_plain_coverage_leaves_the_kind_to_the_front_matter() -> None:
    spec = parse_spec_text(
        "---\ncoverage_kind: branch\n---\n" + HEAD + "- Coverage >= 85%\n", spec_path="x.md"
    )

    assert spec.quality_gates.coverage_kind is CoverageKind.BRANCH


def test_a_threshold_in_words_is_an_error_that_says_what_to_write() -> None:
    assert error("Coverage of at least ninety percent") == (
        "specs/x.md:5: cannot read a coverage threshold in 'Coverage of at least ninety percent'; "
        "write a number such as '90%'"
    )


def test_coverage_prose_without_a_threshold_is_just_a_criterion() -> None:
    spec = parse("Coverage reports are published")

    assert spec.quality_gates.coverage_threshold_pct == 80.0
    assert [c.text for c in spec.acceptance_criteria] == ["Coverage reports are published"]


def test_a_fraction_in_prose_is_refused() -> None:
    assert "coverage threshold 0.9 looks like a fraction; write 90 for 90%" in error("Coverage >= 0.9")


def test_branch_and_line_coverage_of_the_same_threshold_conflict_on_the_kind() -> None:
    assert "coverage kind is given twice with different values: 'branch' (line 5) and 'line'" in error(
        "Branch coverage >= 80%", "Line coverage >= 80%"
    )


@pytest.mark.parametrize(
    ("bullet", "lint_clean"),
    [
        ("No lint violations", True),
        ("Lint clean", True),
        ("ruff check passes", True),
        ("No new lint violations", False),
        ("Lint violations never exceed the baseline", False),
    ],
)
def test_lint_clean_only_when_the_spec_asks_for_none_at_all(bullet: str, lint_clean: bool) -> None:
    assert parse(bullet).quality_gates.lint_clean is lint_clean
