"""Thresholds that cannot mean what they seem are refused with what to write; nothing falls back to 80."""

from __future__ import annotations

import pytest

from spec2prod_assets.spec.draft import Draft
from spec2prod_assets.spec.field_values import (
    Percent,
    coverage_kind,
    coverage_threshold,
    dependency,
    dependency_list,
    read_percent,
)
from spec2prod_assets.spec.model import CoverageKind, SpecError
from spec2prod_assets.spec.parser import parse_spec_text

DRAFT = Draft("specs/x.md")


def threshold_error(value: object) -> str:
    with pytest.raises(SpecError) as caught:
        coverage_threshold(value, 7, DRAFT)
    return str(caught.value)


@pytest.mark.parametrize(
    ("value", "meant"), [("0.8", "80"), ("0.95", "95"), ("1.0", "100"), ("0.955", "95.5")]
)
def test_a_fraction_is_refused_with_the_percentage_to_write(value: str, meant: str) -> None:
    assert threshold_error(value) == (
        f"specs/x.md:7: coverage threshold {value} looks like a fraction; write {meant} for {meant}%"
    )


def test_a_fraction_in_front_matter_is_refused_at_its_key() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec_text(
            "---\nname: Calc\ncoverage_threshold: 0.8\nrequirements: [a]\n---\n", spec_path="specs/x.md"
        )

    assert str(caught.value) == "specs/x.md:3: coverage threshold 0.8 looks like a fraction; write 80 for 80%"


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1.0), ("1", 1.0), ("0.5%", 0.5), ("80", 80.0), (95, 95.0)]
)
def test_whole_numbers_and_marked_percentages_are_percentages(value: object, expected: float) -> None:
    assert coverage_threshold(value, 1, DRAFT) == expected


def test_words_are_refused_with_a_number_to_write() -> None:
    assert threshold_error("at least ninety percent") == (
        "specs/x.md:7: coverage threshold 'at least ninety percent' is not a percentage; "
        "write a number such as 90 or '90%'"
    )


def test_a_boolean_is_not_a_threshold() -> None:
    assert "is not a percentage" in threshold_error(True)


def test_read_percent_tells_a_marked_percentage_from_a_bare_number() -> None:
    assert read_percent(">= 85 %") == Percent("85", marked=True)
    assert read_percent("minimum of 0.9") == Percent("0.9", marked=False)
    assert read_percent("lots") is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("line", CoverageKind.LINE),
        ("Statements", CoverageKind.LINE),
        ("branch coverage", CoverageKind.BRANCH),
    ],
)
def test_coverage_kind_spellings(text: str, kind: CoverageKind) -> None:
    assert coverage_kind(text, 1, DRAFT) is kind


def test_a_dependency_with_a_marker_and_extras_is_valid() -> None:
    written = 'httpx[http2]>=0.27; python_version >= "3.11"'

    assert dependency(written, 1, DRAFT) == written


def test_a_one_line_dependency_list_of_none_is_empty() -> None:
    assert dependency_list("None", 1, DRAFT) == []


@pytest.mark.parametrize("written", ["Python 3.11+", "python>=3.11", "Python"])
def test_the_interpreter_is_not_a_dependency(written: str) -> None:
    with pytest.raises(SpecError, match="names the Python interpreter, not a package; leave it out"):
        dependency(written, 1, DRAFT)


@pytest.mark.parametrize("written", ["python-dateutil>=2.8", "python3-openid", "pythonnet"])
def test_packages_whose_names_start_with_python_are_dependencies(written: str) -> None:
    assert dependency(written, 1, DRAFT) == written
