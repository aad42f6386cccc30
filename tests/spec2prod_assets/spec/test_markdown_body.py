"""The template style's sections and labels added in issue 11: Success Criteria and Definition of Done as
acceptance criteria, a Dependencies section, owners, and bold labels that are near misses of a field."""

from __future__ import annotations

import pytest

from spec2prod_assets.spec.model import ComponentSpec, CoverageKind, SpecError
from spec2prod_assets.spec.parser import parse_spec_text
from tests.conftest import REPO_ROOT

SPEC_PATH = "specs/x.md"
HEAD = "# Calc\n\n## Requirements\n- FR-1: Add.\n"


def parse(text: str) -> ComponentSpec:
    return parse_spec_text(text, spec_path=SPEC_PATH)


def error(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse(text)
    return str(caught.value)


@pytest.mark.parametrize("heading", ["## Success Criteria", "## Definition of Done"])
def test_success_criteria_bullets_are_acceptance_criteria_after_the_others(heading: str) -> None:
    spec = parse(
        HEAD
        + f"## Acceptance Criteria\n- AC-1: adds\n{heading}\n- [ ] Docs updated\n- Release notes written\n"
    )

    assert [(c.id, c.text) for c in spec.acceptance_criteria] == [
        ("AC-1", "adds"),
        ("AC-2", "Docs updated"),
        ("AC-3", "Release notes written"),
    ]


def test_a_quality_gates_section_sets_gates_but_adds_no_criteria() -> None:
    spec = parse(HEAD + "## Quality Gates\n- Coverage >= 70%\n- Ruff reports no lint errors\n")

    assert spec.acceptance_criteria == ()
    assert (spec.quality_gates.coverage_threshold_pct, spec.quality_gates.lint_clean) == (70.0, True)


def test_the_bundled_calculator_spec_has_three_criteria_and_its_gates() -> None:
    """Its two Success Criteria bullets ("Test coverage >= 80%", "No lint violations") are gates only."""
    text = (REPO_ROOT / "examples/demo/specs/calculator.md").read_text(encoding="utf-8")

    spec = parse(text)

    assert [c.id for c in spec.acceptance_criteria] == ["AC-1", "AC-2", "AC-3"]
    assert (spec.quality_gates.coverage_threshold_pct, spec.quality_gates.lint_clean) == (80.0, True)
    assert spec.owners == ("platform-team",)


def test_a_dependencies_section_lists_requirements() -> None:
    spec = parse(
        HEAD + "## Dependencies\nInstalled into the component's environment:\n\n"
        "- requests>=2.31\n- `click>=8`: the command line\n- attrs\n"
    )

    assert spec.dependencies == ("requests>=2.31", "click>=8", "attrs")


def test_a_requirements_txt_code_block_under_dependencies_is_read() -> None:
    spec = parse(HEAD + "## Python Dependencies\n```\n# pinned\nrequests==2.32.3\n\nidna\n```\n")

    assert spec.dependencies == ("requests==2.32.3", "idna")


def test_none_under_dependencies_lists_nothing() -> None:
    assert parse(HEAD + "## Dependencies\n- None.\n").dependencies == ()


def test_a_dependency_bullet_that_is_prose_is_an_error_at_its_line() -> None:
    message = error(HEAD + "## Dependencies\n- requests\n- No external services\n")

    assert message.startswith("specs/x.md:7: dependency 'No external services' is not a PEP 508 requirement")
    assert "'None' when there are none" in message


def test_python_itself_is_not_a_dependency() -> None:
    assert "names the Python interpreter, not a package" in error(
        HEAD + "## Dependencies\n- Python >= 3.11\n"
    )


def test_dependencies_as_a_bold_label_split_at_commas_between_names() -> None:
    spec = parse("# Calc\n**Dependencies:** requests>=2,<3, click\n## Requirements\n- Add.\n")

    assert spec.dependencies == ("requests>=2,<3", "click")


def test_owners_from_a_bold_label_split_at_commas() -> None:
    assert parse("# Calc\n**Owners:** ana, bo\n## Requirements\n- Add.\n").owners == ("ana", "bo")


def test_allow_no_tests_and_coverage_kind_as_bold_labels() -> None:
    spec = parse("# Calc\n**Allow No Tests:** yes\n**Coverage Kind:** branch\n## Requirements\n- Add.\n")

    assert spec.allow_no_tests is True
    assert spec.quality_gates.coverage_kind is CoverageKind.BRANCH


@pytest.mark.parametrize(
    ("label", "meant"),
    [("Sorce Path", "Source Path"), ("Componet ID", "Component ID"), ("Target Stge", "Target Stage")],
)
def test_a_bold_label_that_nearly_names_a_field_is_an_error(label: str, meant: str) -> None:
    assert error(f"# Calc\n\n**{label}:** x\n## Requirements\n- Add.\n") == (
        f"specs/x.md:3: unknown label '{label}'; did you mean '{meant}'?"
    )


@pytest.mark.parametrize(
    "label", ["Note", "Status", "Author", "Created", "Team", "Python Version", "Requirement"]
)
def test_prose_labels_that_name_no_field_stay_allowed(label: str) -> None:
    spec = parse(f"# Calc\n\n**{label}:** something\n## Requirements\n- Add.\n")

    assert spec.source_path == "src/calc"


def test_a_near_miss_label_outside_the_field_sections_is_prose() -> None:
    spec = parse(HEAD + "## Notes\n**Sorce Path:** not a field here\n")

    assert spec.source_path == "src/calc"
