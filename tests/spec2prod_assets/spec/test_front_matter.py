"""Front-matter keys: every key known or refused with a suggestion, and the keys issue 11 added."""

from __future__ import annotations

import pytest

from spec2prod_assets.spec.model import ComponentSpec, CoverageKind, SpecError
from spec2prod_assets.spec.parser import parse_spec_text

SPEC_PATH = "specs/x.md"


def front_matter(*lines: str) -> str:
    return "---\nname: Calc\nrequirements: [Add.]\n" + "".join(f"{line}\n" for line in lines) + "---\n"


def parse(*lines: str) -> ComponentSpec:
    return parse_spec_text(front_matter(*lines), spec_path=SPEC_PATH)


def error(*lines: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse(*lines)
    return str(caught.value)


def test_a_misspelled_key_is_an_error_that_suggests_the_key() -> None:
    assert error("coverge_threshold: 95") == (
        "specs/x.md:4: unknown key 'coverge_threshold'; did you mean 'coverage_threshold'?"
    )


def test_a_key_like_no_other_lists_the_keys_there_are() -> None:
    message = error("colour: blue")

    assert message.startswith("specs/x.md:4: unknown key 'colour'; the keys are: name, slug, version,")
    assert "coverage_threshold" in message
    assert "your own keys start with 'x-'" in message


@pytest.mark.parametrize(
    ("key", "field", "value"),
    [
        ("source_dir", "source_path", "lib/calc"),
        ("src", "source_path", "lib/calc"),
        ("tests_dir", "tests_path", "checks"),
        ("test_dir", "tests_path", "checks"),
        ("Source-Path", "source_path", "lib/calc"),
    ],
)
def test_common_spellings_of_the_path_keys_are_aliases(key: str, field: str, value: str) -> None:
    assert getattr(parse(f"{key}: {value}"), field) == value


def test_keys_starting_with_x_are_the_authors_own_and_ignored() -> None:
    spec = parse("x-jira: BILL-12", "x_team: {lead: ana}")

    assert spec.name == "Calc"


def test_a_yaml_value_error_is_still_reported_before_an_unknown_key() -> None:
    assert "'2024-02-30' is not a valid timestamp" in error("created: 2024-02-30")


def test_owner_as_a_string_and_owners_as_a_list_or_comma_list() -> None:
    assert parse("owner: platform-team").owners == ("platform-team",)
    assert parse("owners: [ana, bo, ana]").owners == ("ana", "bo")
    assert parse("owners: 'ana, bo'").owners == ("ana", "bo")


def test_owners_that_are_not_names_are_rejected() -> None:
    assert "owners must be a name" in error("owners: {ana: lead}")


def test_owner_and_owners_that_disagree_are_rejected() -> None:
    assert "owners is given twice with different values: 'ana' (line 4) and 'bo'" in error(
        "owner: ana", "owners: [bo]"
    )


def test_dependencies_are_kept_as_written() -> None:
    spec = parse("dependencies:", "  - requests>=2.31", "  - 'tomli; python_version < \"3.11\"'")

    assert spec.dependencies == ("requests>=2.31", 'tomli; python_version < "3.11"')


def test_a_dependency_that_is_not_pep_508_is_named_at_its_line() -> None:
    message = error("dependencies:", "  - requests>=2.31", "  - the requests library")

    assert message.startswith("specs/x.md:6: dependency 'the requests library' is not a PEP 508 requirement")
    assert "such as 'requests>=2.31'" in message


def test_dependencies_as_one_string_say_to_write_a_list() -> None:
    assert "dependencies must be a list of strings such as ['requests>=2.31']" in error(
        "dependencies: requests"
    )


def test_allow_no_tests_and_coverage_kind() -> None:
    spec = parse("allow_no_tests: true", "coverage_kind: Branch")

    assert spec.allow_no_tests is True
    assert spec.quality_gates.coverage_kind is CoverageKind.BRANCH


def test_an_unknown_coverage_kind_names_the_two() -> None:
    assert "unknown coverage kind 'path'; use line or branch" in error("coverage_kind: path")


def test_allow_no_tests_must_be_a_boolean() -> None:
    assert "allow no tests must be true or false" in error("allow_no_tests: maybe")


def test_tests_path_is_none_unless_the_spec_names_it() -> None:
    assert parse().tests_path is None
    assert parse("tests_path: tests").tests_path == "tests"


def test_a_misspelled_key_in_a_requirement_entry_is_an_error() -> None:
    text = "---\nname: Calc\nrequirements:\n  - text: Add.\n    prority: should\n---\n"

    with pytest.raises(SpecError) as caught:
        parse_spec_text(text, spec_path=SPEC_PATH)

    assert str(caught.value) == (
        "specs/x.md:4: unknown key 'prority' in this requirements entry; did you mean 'priority'?"
    )


def test_a_priority_in_an_acceptance_criterion_entry_is_not_a_key_there() -> None:
    text = "---\nname: Calc\nrequirements: [a]\nacceptance_criteria:\n  - text: b\n    priority: must\n---\n"

    with pytest.raises(
        SpecError, match="unknown key 'priority' in this acceptance_criteria entry; use id, text"
    ):
        parse_spec_text(text, spec_path=SPEC_PATH)
