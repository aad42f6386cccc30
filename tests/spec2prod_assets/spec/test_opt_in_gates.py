"""Issue 14's gates a spec can ask for: a mutation score and a passing test per acceptance criterion, in
front matter, as bold labels or in Success Criteria prose; and gate-only bullets are no criteria."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spec2prod_assets.spec.model import ComponentSpec, SpecError
from spec2prod_assets.spec.parser import parse_spec_text
from spec2prod_assets.spec.schema import spec_json_schema

SPEC_PATH = "specs/x.md"
HEAD = "# Calc\n## Requirements\n- FR-1: Add.\n"
SUCCESS = HEAD + "## Success Criteria\n"
CONSOLE_SCRIPT = Path(sys.executable).with_name("spec2prod")


def parse(text: str) -> ComponentSpec:
    return parse_spec_text(text, spec_path=SPEC_PATH)


def front_matter(lines: str) -> ComponentSpec:
    return parse(f"---\nname: Calc\n{lines}requirements: [Add.]\n---\n")


def error(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse(text)
    return str(caught.value)


def success(*bullets: str) -> ComponentSpec:
    return parse(SUCCESS + "".join(f"- {bullet}\n" for bullet in bullets))


# ---------------------------------------------------------------- front matter and labels


def test_a_spec_that_asks_for_neither_gate_gets_neither() -> None:
    gates = front_matter("").quality_gates

    assert (gates.mutation_score_pct, gates.criteria_tested) == (None, False)


@pytest.mark.parametrize(("written", "expected"), [("60%", 60.0), ("60", 60.0), ("'62.5 %'", 62.5)])
def test_mutation_score_in_front_matter_is_a_percentage(written: str, expected: float) -> None:
    assert front_matter(f"mutation_score: {written}\n").quality_gates.mutation_score_pct == expected


def test_a_mutation_score_alias_is_the_same_key() -> None:
    assert front_matter("min_mutation_score: 70\n").quality_gates.mutation_score_pct == 70.0


@pytest.mark.parametrize("written", ["true", "yes"])
def test_criteria_tested_in_front_matter(written: str) -> None:
    assert front_matter(f"criteria_tested: {written}\n").quality_gates.criteria_tested is True


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("mutation_score: 160", "specs/x.md:3: mutation score 160 is outside 0..100"),
        ("mutation_score: '-5%'", "specs/x.md:3: mutation score -5 is outside 0..100"),
        ("mutation_score: 0.6", "specs/x.md:3: mutation score 0.6 looks like a fraction; write 60 for 60%"),
        (
            "mutation_score: sixty",
            "specs/x.md:3: mutation score 'sixty' is not a percentage; write a number such as 90 or '90%'",
        ),
        ("criteria_tested: maybe", "specs/x.md:3: criteria tested must be true or false, not 'maybe'"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key(line: str, message: str) -> None:
    assert error(f"---\nname: Calc\n{line}\nrequirements: [Add.]\n---\n") == message


@pytest.mark.parametrize(
    ("key", "meant"), [("mutaton_score", "mutation_score"), ("criteria_test", "criteria_tested")]
)
def test_a_misspelt_key_suggests_the_gate(key: str, meant: str) -> None:
    assert error(f"---\nname: Calc\n{key}: 1\nrequirements: [Add.]\n---\n") == (
        f"specs/x.md:3: unknown key {key!r}; did you mean {meant!r}?"
    )


def test_both_gates_as_bold_labels() -> None:
    gates = parse(
        "# Calc\n**Mutation Score:** 75%\n**Criteria Tested:** yes\n## Requirements\n- Add.\n"
    ).quality_gates

    assert (gates.mutation_score_pct, gates.criteria_tested) == (75.0, True)


def test_the_schema_shows_both_keys_with_the_models_defaults() -> None:
    properties = spec_json_schema()["properties"]

    assert "default" not in properties["mutation_score"]  # no gate unless asked for
    assert properties["criteria_tested"]["default"] is False
    assert properties["mutation_threshold"]["description"] == "Same as 'mutation_score'."


def test_validate_reports_a_bad_mutation_score_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "src" / "calc").mkdir(parents=True)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "calc.md").write_text(
        "---\nname: Calc\nmutation_score: 120%\nrequirements: [Add.]\n---\n", encoding="utf-8"
    )

    completed = subprocess.run(
        [str(CONSOLE_SCRIPT), "validate", "--project-root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2, completed
    output = (completed.stdout + completed.stderr).strip()
    assert output.splitlines() == [line for line in output.splitlines() if line.strip()]
    assert "specs/calc.md:3: mutation score 120 is outside 0..100" in output, output
    assert len([line for line in output.splitlines() if "mutation score" in line]) == 1


# ---------------------------------------------------------------- prose


@pytest.mark.parametrize(
    "bullet",
    [
        "Mutation score >= 60%",
        "mutation score of at least 60%",
        "Mutation score: 60",
        "At least 60% of mutants killed",
        "mutmut score >= 60 percent",
    ],
)
def test_mutation_score_phrasings(bullet: str) -> None:
    assert success(bullet).quality_gates.mutation_score_pct == 60.0


def test_a_mutation_clause_with_a_threshold_in_words_is_an_error() -> None:
    assert error(SUCCESS + "- Mutation score of at least sixty percent\n") == (
        "specs/x.md:5: cannot read a mutation score in 'Mutation score of at least sixty percent'; "
        "write a number such as '90%'"
    )


def test_mutation_prose_without_a_threshold_is_just_a_criterion() -> None:
    spec = success("Mutation testing runs nightly")

    assert spec.quality_gates.mutation_score_pct is None
    assert [c.text for c in spec.acceptance_criteria] == ["Mutation testing runs nightly"]


def test_mutation_coverage_is_a_mutation_score_not_a_coverage_threshold() -> None:
    gates = success("Mutation coverage >= 60%").quality_gates

    assert (gates.mutation_score_pct, gates.coverage_threshold_pct) == (60.0, 80.0)


def test_mutation_and_coverage_in_one_bullet_set_both() -> None:
    gates = success("Coverage >= 90% and mutation score >= 60%").quality_gates

    assert (gates.coverage_threshold_pct, gates.mutation_score_pct) == (90.0, 60.0)


def test_two_different_mutation_scores_are_an_error_at_the_second() -> None:
    message = error("---\nmutation_score: 70\n---\n" + SUCCESS + "- Mutation score >= 60%\n")

    assert message == (
        "specs/x.md:8: mutation score is given twice with different values: 70.0 (line 2) and 60.0; "
        "the gate reads one mutation score; keep one"
    )


@pytest.mark.parametrize(
    "bullet",
    [
        "Every acceptance criterion has a test",
        "Every acceptance criterion has a passing test",
        "each acceptance criterion is tested",
        "All acceptance criteria are covered by tests",
        "all of the acceptance criteria have passing tests",
    ],
)
def test_criteria_tested_phrasings(bullet: str) -> None:
    assert success(bullet).quality_gates.criteria_tested is True


def test_a_coverage_clause_about_every_criterion_does_not_set_criteria_tested() -> None:
    gates = success("Test coverage >= 90% for every acceptance criterion").quality_gates

    assert (gates.coverage_threshold_pct, gates.criteria_tested) == (90.0, False)


@pytest.mark.parametrize(
    "bullet",
    [
        "All acceptance criteria pass",
        "Not every acceptance criterion needs a test",
        "Tests pass",
    ],
)
def test_other_words_about_criteria_or_tests_do_not_set_criteria_tested(bullet: str) -> None:
    spec = success(bullet)

    assert spec.quality_gates.criteria_tested is False
    assert [c.text for c in spec.acceptance_criteria] == [bullet]


# ---------------------------------------------------------------- gate-only bullets


@pytest.mark.parametrize(
    "gate",
    [
        "Test coverage >= 85%",
        "No lint violations",
        "No new lint violations",
        "Mutation score >= 60%",
        "Every acceptance criterion has a passing test",
        "[ ] Coverage >= 85% and no lint errors",
    ],
)
def test_a_gate_only_success_bullet_is_not_a_criterion_while_others_are(gate: str) -> None:
    spec = success(gate, "Docs updated")

    assert [(c.id, c.text) for c in spec.acceptance_criteria] == [("AC-1", "Docs updated")]


def test_a_bullet_with_a_gate_and_something_else_stays_a_criterion_and_sets_the_gate() -> None:
    spec = success("Docs updated and coverage >= 90%")

    assert [c.text for c in spec.acceptance_criteria] == ["Docs updated and coverage >= 90%"]
    assert spec.quality_gates.coverage_threshold_pct == 90.0


def test_ids_continue_after_the_acceptance_criteria_without_gaps_for_gate_bullets() -> None:
    spec = parse(
        HEAD
        + "## Acceptance Criteria\n- AC-1: adds\n- AC-2: divides\n"
        + "## Success Criteria\n- Test coverage >= 80%\n- Docs updated\n- No lint violations\n- Changelog\n"
    )

    assert [(c.id, c.text) for c in spec.acceptance_criteria] == [
        ("AC-1", "adds"),
        ("AC-2", "divides"),
        ("AC-3", "Docs updated"),
        ("AC-4", "Changelog"),
    ]
