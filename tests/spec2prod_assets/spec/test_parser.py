"""The spec parser: both spec styles and their mixtures, and every error pointing at file and line."""

from __future__ import annotations

import hashlib
from pathlib import Path
from textwrap import dedent

import pytest

from spec2prod_assets.spec.model import (
    ComponentSpec,
    CoverageKind,
    Priority,
    QualityGates,
    RequirementKind,
    SpecError,
    Stage,
)
from spec2prod_assets.spec.parser import MAX_SPEC_BYTES, find_spec_files, parse_spec, parse_spec_text
from tests.conftest import REPO_ROOT

SPEC_PATH = "specs/calc.md"
DEMO_PROJECT = REPO_ROOT / "examples" / "demo"

TEMPLATE_SPEC = dedent(
    """\
    # Component Specification: Calculator

    **Component ID:** calculator
    **Version:** 1.2.0
    **Target Stage:** staging
    **Owner:** platform-team

    ## Overview
    A small arithmetic library
    used by billing.

    Second paragraph, not part of the summary.

    ## Requirements
    ### Functional Requirements
    - **FR-1**: Add two numbers. (Must)
    - FR-2: Divide, rejecting a zero divisor [SHOULD]
    ### Non-Functional Requirements
    - **NFR-1**: No I/O. Priority: Low

    ## API
    - `add(a: float, b: float) -> float`
    - `divide(a: float, b: float) -> float`

    ## Acceptance Criteria
    - AC-1: `add(2, 3) == 5`
    - `divide(1, 0)` raises `ValueError`

    ## Success Criteria
    - Test coverage >= 85%
    - No lint violations
    """
)


def parse(text: str) -> ComponentSpec:
    return parse_spec_text(text, spec_path=SPEC_PATH)


def spec_error(text: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse_spec_text(text, spec_path=SPEC_PATH)
    return caught.value


def assert_error(error: SpecError, line: int | None, *fragments: str) -> None:
    where = f"{SPEC_PATH}:{line}: " if line is not None else f"{SPEC_PATH}: "
    assert str(error).startswith(where), str(error)
    assert error.path == SPEC_PATH
    assert error.line == line
    for fragment in fragments:
        assert fragment in error.problem, error.problem


# ---------------------------------------------------------------- well-formed specs


def test_template_style_spec_fills_every_field() -> None:
    spec = parse(TEMPLATE_SPEC)

    assert (spec.name, spec.slug, spec.version) == ("Calculator", "calculator", "1.2.0")
    assert spec.target_stage is Stage.STAGING
    assert spec.summary == "A small arithmetic library used by billing."
    assert [(r.id, r.kind, r.priority) for r in spec.requirements] == [
        ("FR-1", RequirementKind.FUNCTIONAL, Priority.MUST),
        ("FR-2", RequirementKind.FUNCTIONAL, Priority.SHOULD),
        ("NFR-1", RequirementKind.NON_FUNCTIONAL, Priority.COULD),
    ]
    assert [r.text for r in spec.requirements] == [
        "Add two numbers.",
        "Divide, rejecting a zero divisor",
        "No I/O.",
    ]
    assert spec.api == ("add(a: float, b: float) -> float", "divide(a: float, b: float) -> float")
    assert [(c.id, c.text) for c in spec.acceptance_criteria] == [
        ("AC-1", "`add(2, 3) == 5`"),
        ("AC-2", "`divide(1, 0)` raises `ValueError`"),
    ]  # the Success Criteria bullets only state gates
    assert spec.quality_gates.coverage_threshold_pct == 85.0
    assert spec.quality_gates.coverage_kind is CoverageKind.LINE
    assert spec.quality_gates.lint_clean is True
    assert (spec.source_path, spec.tests_path) == ("src/calculator", None)
    assert spec.owners == ("platform-team",)
    assert spec.spec_path == SPEC_PATH


def test_front_matter_only_spec() -> None:
    spec = parse_spec_text(
        dedent(
            """\
            ---
            name: Text Stats
            version: 0.3.0
            summary: Word statistics.
            source_path: lib/text_stats
            tests_path: checks/text_stats
            target_stage: dev
            coverage_threshold: 75
            lint_clean: false
            requirements:
              - id: FR-1
                text: word_count counts words.
                priority: should
              - id: Q-1
                kind: non-functional
                text: Linear time.
              - "FR-2: longest_word returns the first longest word (Could)"
            acceptance_criteria:
              - 'word_count("a b") == 2'
              - id: AC-7
                text: longest_word("hi there") == "there"
            api:
              - "word_count(text: str) -> int"
            ---
            """
        ),
        spec_path=SPEC_PATH,
    )

    assert (spec.name, spec.slug, spec.summary) == ("Text Stats", "text_stats", "Word statistics.")
    assert (spec.source_path, spec.tests_path) == ("lib/text_stats", "checks/text_stats")
    assert spec.target_stage is Stage.DEV
    assert spec.quality_gates.coverage_threshold_pct == 75.0
    assert spec.quality_gates.lint_clean is False
    assert [(r.id, r.kind, r.priority) for r in spec.requirements] == [
        ("FR-1", RequirementKind.FUNCTIONAL, Priority.SHOULD),
        ("Q-1", RequirementKind.NON_FUNCTIONAL, Priority.MUST),
        ("FR-2", RequirementKind.FUNCTIONAL, Priority.COULD),
    ]
    assert spec.requirements[2].text == "longest_word returns the first longest word"
    assert [c.id for c in spec.acceptance_criteria] == ["AC-1", "AC-7"]
    assert spec.api == ("word_count(text: str) -> int",)


def test_mixed_spec_adds_body_sections_to_front_matter() -> None:
    spec = parse(
        dedent(
            """\
            ---
            name: Calculator
            version: "2.0"
            requirements:
              - id: FR-1
                text: Add.
            ---
            # Calculator

            **Version:** 2.0

            Adds numbers for billing.

            ## Requirements
            - FR-2: Subtract.

            ## Quality Gates
            - coverage: 90%
            """
        )
    )

    assert [r.id for r in spec.requirements] == ["FR-1", "FR-2"]
    assert spec.version == "2.0"
    assert spec.summary == "Adds numbers for billing."
    assert spec.quality_gates.coverage_threshold_pct == 90.0


def test_front_matter_summary_wins_over_the_overview() -> None:
    spec = parse(
        "---\nsummary: From front matter.\n---\n# Calc\n## Overview\nFrom body.\n## Requirements\n- A\n"
    )

    assert spec.summary == "From front matter."


def test_defaults_when_the_spec_names_only_what_it_must() -> None:
    spec = parse("# Tiny Tool\n\n## Requirements\n- It works.\n")

    assert (spec.name, spec.slug, spec.version) == ("Tiny Tool", "tiny_tool", "0.1.0")
    assert (spec.source_path, spec.tests_path) == ("src/tiny_tool", None)
    assert spec.target_stage is Stage.STAGING  # production only when the spec says so
    assert spec.quality_gates == QualityGates(
        coverage_threshold_pct=80.0, coverage_kind=CoverageKind.LINE, lint_clean=False
    )
    assert (spec.allow_no_tests, spec.dependencies, spec.owners) == (False, (), ())
    assert spec.requirements[0].priority is Priority.MUST


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("# Component Specification: Calculator", "Calculator"),
        ("# Calculator Specification", "Calculator"),
        ("# Calculator Component Specification", "Calculator"),
        ("# Specification: Calculator", "Calculator"),
        ("# Calculator", "Calculator"),
    ],
)
def test_title_forms_all_name_the_component(title: str, name: str) -> None:
    spec = parse(f"{title}\n\n## Requirements\n- FR-1: Add.\n")

    assert spec.name == name
    assert spec.slug == "calculator"


@pytest.mark.parametrize(
    ("bullet", "priority"),
    [
        ("- FR-1: Add. (Must)", Priority.MUST),
        ("- FR-1: Add. (Should have)", Priority.SHOULD),
        ("- FR-1: Add. [COULD]", Priority.COULD),
        ("- FR-1: Add. Priority: High", Priority.MUST),
        ("- FR-1: Add. **Priority:** Medium", Priority.SHOULD),
        ("- FR-1 (Low): Add.", Priority.COULD),
        ("- FR-1: Add, as the user must see it.", Priority.MUST),
    ],
)
def test_marked_priorities_are_read_and_removed_from_the_text(bullet: str, priority: Priority) -> None:
    spec = parse(f"# Calc\n## Requirements\n{bullet}\n")

    assert spec.requirements[0].priority is priority
    assert spec.requirements[0].text.startswith("Add")
    assert "Priority" not in spec.requirements[0].text


def test_prose_must_is_not_mistaken_for_a_priority() -> None:
    spec = parse("# Calc\n## Requirements\n- FR-1: The tool should add. [COULD]\n")

    assert spec.requirements[0].priority is Priority.COULD
    assert spec.requirements[0].text == "The tool should add."


def test_requirements_without_ids_are_numbered_with_free_ids() -> None:
    spec = parse("# Calc\n## Requirements\n- Add.\n- R-1: Subtract.\n- Multiply.\n")

    assert [(r.id, r.text) for r in spec.requirements] == [
        ("R-2", "Add."),
        ("R-1", "Subtract."),
        ("R-3", "Multiply."),
    ]


def test_other_id_prefixes_and_bracketed_ids_are_kept() -> None:
    spec = parse("# Calc\n## Requirements\n- REQ-3: Add.\n- [US-12] Subtract.\n- FR1: Multiply.\n")

    assert [r.id for r in spec.requirements] == ["REQ-3", "US-12", "FR1"]


def test_kind_comes_from_the_id_prefix_then_the_subsection_heading() -> None:
    spec = parse(
        dedent(
            """\
            # Calc
            ## Requirements
            ### Non-Functional
            - Fast.
            - FR-9: Still functional by its id.
            ### Arithmetic
            - Adds.
            """
        )
    )

    assert [r.kind for r in spec.requirements] == [
        RequirementKind.NON_FUNCTIONAL,
        RequirementKind.FUNCTIONAL,
        RequirementKind.FUNCTIONAL,
    ]


def test_functional_requirements_as_top_level_sections() -> None:
    spec = parse(
        "# Calc\n## Functional Requirements\n- Adds.\n### Details\n- Subtracts.\n"
        "## Non-Functional Requirements\n- Fast.\n"
    )

    assert [(r.id, r.kind) for r in spec.requirements] == [
        ("R-1", RequirementKind.FUNCTIONAL),
        ("R-2", RequirementKind.FUNCTIONAL),
        ("R-3", RequirementKind.NON_FUNCTIONAL),
    ]


def test_requirement_lines_in_a_paragraph_count_only_when_they_carry_an_id() -> None:
    spec = parse("# Calc\n## Requirements\nThe component must:\nFR-1: Add.\nFR-2: Subtract.\n")

    assert [r.id for r in spec.requirements] == ["FR-1", "FR-2"]


def test_nested_bullets_belong_to_their_requirement() -> None:
    spec = parse("# Calc\n## Requirements\n- FR-1: Supports:\n  - addition\n  - subtraction\n- FR-2: Fast.\n")

    assert [r.text for r in spec.requirements] == ["Supports: addition; subtraction", "Fast."]


def test_checklist_acceptance_criteria_get_ids_in_order() -> None:
    spec = parse(
        "# Calc\n## Requirements\n- Add.\n## Acceptance Tests\n- [ ] adds 2 and 3\n- [x] AC-2: divides\n"
        "1. subtracts\n"
    )

    assert [(c.id, c.text) for c in spec.acceptance_criteria] == [
        ("AC-1", "adds 2 and 3"),
        ("AC-2", "divides"),
        ("AC-3", "subtracts"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Test coverage >= 85%",
        "Coverage ≥ 85 %",
        "coverage: 85%",
        "at least 85% coverage",
        "Line coverage of at least 85 percent",
        "Coverage >= 85",
    ],
)
def test_coverage_threshold_phrasings(line: str) -> None:
    spec = parse(f"# Calc\n## Requirements\n- Add.\n## Success Criteria\n- {line}\n")

    assert spec.quality_gates.coverage_threshold_pct == 85.0


def test_branch_coverage_in_prose_sets_a_branch_coverage_gate() -> None:
    spec = parse("# Calc\n## Requirements\n- Add.\n## Success Criteria\n- Branch coverage >= 50%\n")

    assert spec.quality_gates.coverage_threshold_pct == 50.0
    assert spec.quality_gates.coverage_kind is CoverageKind.BRANCH


def test_line_and_branch_thresholds_in_one_spec_are_an_error_not_a_choice() -> None:
    error = spec_error(
        "# Calc\n## Requirements\n- Add.\n## Success Criteria\n"
        "- Branch coverage >= 60% and line coverage >= 90%\n"
    )

    assert_error(error, 5, "coverage threshold is given twice", "60.0 (line 5)", "keep one")


def test_coverage_threshold_as_a_bold_field() -> None:
    spec = parse("# Calc\n**Coverage Threshold:** 95%\n## Requirements\n- Add.\n")

    assert spec.quality_gates.coverage_threshold_pct == 95.0


def test_custom_source_and_tests_paths_from_bold_fields() -> None:
    spec = parse(
        "# Calc\n**Source Path:** `lib/calc`\n**Tests Path:** `checks\\calc`\n## Requirements\n- Add.\n"
    )

    assert (spec.source_path, spec.tests_path) == ("lib/calc", "checks/calc")


def test_bold_fields_in_a_list_with_the_colon_outside_the_bold() -> None:
    spec = parse("# Calc\n- **Component ID**: calc-tool\n- **Version**: 3.1\n## Requirements\n- Add.\n")

    assert (spec.slug, spec.version) == ("calc-tool", "3.1")


def test_bold_fields_in_a_metadata_section_are_read() -> None:
    spec = parse("# Calc\n## Requirements\n- Add.\n## Metadata\n- **Version:** 4.0\n- **Stage:** dev\n")

    assert (spec.version, spec.target_stage) == ("4.0", Stage.DEV)


def test_bold_labels_in_unrelated_sections_are_not_fields() -> None:
    spec = parse("# Calc\n## Requirements\n- Add.\n## Notes\n- **Source:** PyPI\n")

    assert spec.source_path == "src/calc"


def test_api_from_a_code_block_takes_the_signatures() -> None:
    spec = parse(
        "# Calc\n## Requirements\n- Add.\n## Public API\n```python\n"
        "def add(a: float, b: float) -> float: ...\n\nclass Calculator:\n    '''Docs.'''\n```\n"
    )

    assert spec.api == ("def add(a: float, b: float) -> float", "class Calculator")


def test_api_subheadings_are_api_entries() -> None:
    spec = parse("# Calc\n## Requirements\n- Add.\n## API\n### `add(a, b)`\nAdds.\n### `sub(a, b)`\n")

    assert spec.api == ("add(a, b)", "sub(a, b)")


def test_unquoted_id_and_text_in_front_matter_read_as_a_requirement() -> None:
    spec = parse("---\nname: Calc\nrequirements:\n  - FR-1: Add two numbers (Should)\n---\n")

    assert [(r.id, r.text, r.priority) for r in spec.requirements] == [
        ("FR-1", "Add two numbers", Priority.SHOULD)
    ]


def test_front_matter_version_keeps_its_text_as_written() -> None:
    spec = parse("---\nname: Calc\nversion: 1.10\nrequirements: [Add.]\n---\n")

    assert spec.version == "1.10"


def test_crlf_line_endings_parse_with_the_same_line_numbers() -> None:
    spec = parse(TEMPLATE_SPEC.replace("\n", "\r\n"))

    assert [r.id for r in spec.requirements] == ["FR-1", "FR-2", "NFR-1"]
    assert spec.summary == "A small arithmetic library used by billing."
    error = spec_error("# Calc\r\n\r\n## Requirements\r\n- FR-1: Add.\r\n- FR-1: Again.\r\n")
    assert_error(error, 5, "duplicate requirement id FR-1", "line 4")


def test_byte_order_mark_is_ignored() -> None:
    assert parse("\ufeff# Calc\n## Requirements\n- Add.\n").name == "Calc"


def test_same_value_in_front_matter_and_body_is_fine() -> None:
    spec = parse("---\nslug: calc\n---\n# Calc\n**Component ID:** calc\n## Requirements\n- Add.\n")

    assert spec.slug == "calc"


# ---------------------------------------------------------------- parse_spec and find_spec_files


def test_parse_spec_records_the_relative_path_and_the_hash_of_the_bytes(tmp_path: Path) -> None:
    spec_file = tmp_path / "specs" / "team" / "calc.md"
    spec_file.parent.mkdir(parents=True)
    data = TEMPLATE_SPEC.replace("\n", "\r\n").encode("utf-8")
    spec_file.write_bytes(data)

    spec = parse_spec(spec_file, tmp_path)

    assert spec.spec_path == "specs/team/calc.md"
    assert spec.spec_sha256 == hashlib.sha256(data).hexdigest()


def test_find_spec_files_recurses_sorts_and_skips_hidden_and_other_files(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    for relative in ("b.md", "a.md", "team/z.md", "team/a.md", ".draft.md", ".cache/x.md", "notes.txt"):
        (specs / relative).parent.mkdir(parents=True, exist_ok=True)
        (specs / relative).write_text("# X\n")
    (tmp_path / "README.md").write_text("# not a spec\n")

    found = find_spec_files(tmp_path)

    assert [path.relative_to(specs).as_posix() for path in found] == [
        "a.md",
        "b.md",
        "team/a.md",
        "team/z.md",
    ]


def test_find_spec_files_without_a_specs_folder_finds_nothing(tmp_path: Path) -> None:
    assert find_spec_files(tmp_path) == []


@pytest.mark.parametrize("spec_file", sorted(DEMO_PROJECT.glob("specs/*.md")), ids=lambda path: path.name)
def test_bundled_example_specs_parse(spec_file: Path) -> None:
    spec = parse_spec(spec_file, DEMO_PROJECT)

    assert spec.requirements
    assert 0 < spec.quality_gates.coverage_threshold_pct <= 100
    assert spec.spec_path == f"specs/{spec_file.name}"


# ---------------------------------------------------------------- errors


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    spec_file = tmp_path / "specs" / "calc.md"
    spec_file.parent.mkdir()
    spec_file.write_text("  \n\n")

    with pytest.raises(SpecError) as caught:
        parse_spec(spec_file, tmp_path)

    assert str(caught.value) == "specs/calc.md: the spec is empty"


def test_file_larger_than_one_mebibyte_is_rejected(tmp_path: Path) -> None:
    spec_file = tmp_path / "specs" / "calc.md"
    spec_file.parent.mkdir()
    spec_file.write_bytes(b"# Calc\n" + b"x" * MAX_SPEC_BYTES)

    with pytest.raises(SpecError) as caught:
        parse_spec(spec_file, tmp_path)

    assert str(caught.value).startswith("specs/calc.md: the spec is larger than 1 MiB")


def test_non_utf8_bytes_are_reported_with_their_line(tmp_path: Path) -> None:
    spec_file = tmp_path / "specs" / "calc.md"
    spec_file.parent.mkdir()
    spec_file.write_bytes(b"# Calc\n\n## Requirements\n- Add caf\xe9.\n")

    with pytest.raises(SpecError) as caught:
        parse_spec(spec_file, tmp_path)

    assert str(caught.value).startswith("specs/calc.md:4: not valid UTF-8: byte 0xe9 at offset")


def test_unreadable_spec_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(tmp_path / "specs" / "missing.md", tmp_path)

    assert str(caught.value).startswith("specs/missing.md: cannot read the spec")


def test_spec_outside_the_project_root_is_rejected(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.md"
    outside.write_text("# Calc\n## Requirements\n- Add.\n")

    with pytest.raises(SpecError, match="not inside the project root"):
        parse_spec(outside, tmp_path / "project")


def test_missing_title_is_rejected() -> None:
    error = spec_error("Some words.\n\n## Requirements\n- FR-1: Add.\n")

    assert_error(error, None, "no name", "'# <Name>' title", "'name:'")


def test_title_that_is_only_the_word_specification_is_rejected_at_its_line() -> None:
    error = spec_error("\n# Specification\n\n## Requirements\n- FR-1: Add.\n")

    assert_error(error, 2, "no name")


def test_spec_without_requirements_is_rejected() -> None:
    error = spec_error("# Calc\n\n## Overview\nAdds numbers.\n")

    assert_error(error, None, "no requirements", "## Requirements")


def test_empty_requirements_section_is_rejected_at_its_heading() -> None:
    error = spec_error("# Calc\n\n## Requirements\nTo be written.\n\n## API\n- `add()`\n")

    assert_error(error, 3, "requirements section lists no requirements")


def test_requirement_with_an_id_but_no_text_is_rejected() -> None:
    error = spec_error("# Calc\n## Requirements\n- FR-1: Add.\n- **FR-2**:\n")

    assert_error(error, 4, "requirement FR-2 has no text")


def test_coverage_threshold_above_100_is_rejected_at_its_line() -> None:
    error = spec_error("# Calc\n## Requirements\n- Add.\n\n## Success Criteria\n- Coverage >= 120%\n")

    assert_error(error, 6, "coverage threshold 120 is outside 0..100")


def test_negative_coverage_threshold_in_front_matter_is_rejected_at_its_key() -> None:
    error = spec_error("---\nname: Calc\ncoverage_threshold: -5\nrequirements: [Add.]\n---\n")

    assert_error(error, 3, "coverage threshold -5 is outside 0..100")


def test_coverage_threshold_that_is_not_a_number_is_rejected() -> None:
    error = spec_error("---\nname: Calc\ncoverage_threshold: lots\nrequirements: [Add.]\n---\n")

    assert_error(error, 3, "'lots' is not a percentage")


def test_absolute_source_path_is_rejected_at_its_line() -> None:
    error = spec_error("# Calc\n\n**Source Path:** /etc/calc\n## Requirements\n- Add.\n")

    assert_error(error, 3, "source path", "is absolute")


def test_tests_path_escaping_the_project_is_rejected_at_its_line() -> None:
    error = spec_error("---\nname: Calc\ntests: ../other/tests\nrequirements: [Add.]\n---\n")

    assert_error(error, 3, "tests path", "escapes the project root")


def test_unknown_target_stage_names_the_allowed_stages() -> None:
    error = spec_error("# Calc\n**Target Stage:** qa\n## Requirements\n- Add.\n")

    assert_error(error, 2, "unknown target stage 'qa'", "dev, staging, production")


def test_duplicate_requirement_id_is_reported_at_the_second_use() -> None:
    error = spec_error("# Calc\n## Requirements\n- FR-1: Add.\n- FR-2: Subtract.\n- **FR-1**: Again.\n")

    assert_error(error, 5, "duplicate requirement id FR-1", "first used at line 3")


def test_duplicate_id_across_front_matter_and_body_counts_lines_after_the_front_matter() -> None:
    error = spec_error(
        "---\nname: Calc\nrequirements:\n  - id: FR-1\n    text: Add.\n---\n# Calc\n## Requirements\n"
        "- FR-1: Add again.\n"
    )

    assert_error(error, 9, "duplicate requirement id FR-1", "first used at line 4")


def test_duplicate_acceptance_criterion_id_is_rejected() -> None:
    error = spec_error("# Calc\n## Requirements\n- Add.\n## Acceptance Criteria\n- AC-1: a\n- AC-1: b\n")

    assert_error(error, 6, "duplicate acceptance criterion id AC-1")


def test_invalid_component_id_is_rejected_at_its_line() -> None:
    error = spec_error("# Calc\n\n**Component ID:** Calc Tool\n## Requirements\n- Add.\n")

    assert_error(error, 3, "slug 'Calc Tool' must be lower-case")


def test_name_that_cannot_make_a_component_id_is_rejected() -> None:
    error = spec_error("# ???\n## Requirements\n- Add.\n")

    assert_error(error, 1, "cannot make a component id from the name '???'")


def test_conflicting_values_in_front_matter_and_body_are_rejected() -> None:
    error = spec_error(
        "---\nname: Calc\nversion: 1.0.0\n---\n# Calc\n**Version:** 2.0.0\n## Requirements\n- A\n"
    )

    assert_error(error, 6, "version is given twice with different values", "'1.0.0' (line 3)", "'2.0.0'")


def test_front_matter_yaml_syntax_error_reports_the_file_line() -> None:
    error = spec_error("---\nname: Calc\nrequirements: [Add.\nversion: 1\n---\n# Calc\n")

    assert error.line is not None and error.line >= 3
    assert_error(error, error.line, "front matter is not valid YAML")


def test_front_matter_that_is_not_a_mapping_is_rejected() -> None:
    error = spec_error("---\n- name: Calc\n---\n# Calc\n## Requirements\n- Add.\n")

    assert_error(error, 2, "must be a mapping", "not a list")


def test_front_matter_that_is_never_closed_is_rejected() -> None:
    error = spec_error("---\nname: Calc\n# Calc\n## Requirements\n- Add.\n")

    assert_error(error, 1, "never closed")


def test_front_matter_key_given_twice_is_rejected() -> None:
    error = spec_error("---\nname: Calc\nversion: 1\nname: Other\n---\n## Requirements\n- Add.\n")

    assert_error(error, 4, "key 'name' is given twice", "first at line 2")


def test_front_matter_requirement_with_an_unknown_priority_is_rejected_at_the_item() -> None:
    error = spec_error(
        "---\nname: Calc\nrequirements:\n  - text: Add.\n  - text: Sub.\n    priority: urgent\n---\n"
    )

    assert_error(error, 5, "unknown priority 'urgent'", "must, high")


def test_unquoted_colon_in_a_front_matter_entry_gets_a_hint() -> None:
    error = spec_error(
        "---\nname: Calc\nrequirements: [Add.]\nacceptance_criteria:\n  - f('a: b') is True\n---\n"
    )

    assert_error(error, 5, "needs a non-empty 'text'", "must be quoted")


def test_front_matter_lint_clean_must_be_a_boolean() -> None:
    error = spec_error("---\nname: Calc\nlint_clean: sometimes\nrequirements: [Add.]\n---\n")

    assert_error(error, 3, "lint clean must be true or false")


@pytest.mark.parametrize(
    "text",
    [
        "---\n---\n",
        "---\nname: [a, b]\n---\n",
        "---\nname: Calc\nrequirements: 3\n---\n",
        "---\nname: Calc\nrequirements: [[1]]\n---\n",
        "---\nname: Calc\nrequirements: [{id: [1], text: x}]\n---\n",
        "---\nname: Calc\napi: [1]\nrequirements: [a]\n---\n",
        "---\n1: x\n---\n",
        "---\nname: !!python/object:os.system x\n---\n",
        "# Calc\n## Requirements\n- [ ]\n",
        "# Calc\n**Component ID:** -x\n## Requirements\n- A\n",
        "# Calc\n**Version:**\n## Requirements\n- A\n",
    ],
)
def test_malformed_specs_fail_only_with_spec_error(text: str) -> None:
    error = spec_error(text)

    assert str(error).startswith(SPEC_PATH)
