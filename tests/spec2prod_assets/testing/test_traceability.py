"""A spec's criteria traced to the tests that claim them: only a passing test traces one, and the table
says which have none. One real pytest run shows a claimed test runs cleanly under `--strict-markers`."""

from __future__ import annotations

from pathlib import Path

from spec2prod_assets.spec.parser import parse_spec_text
from spec2prod_assets.testing import pytest_run as runner
from spec2prod_assets.testing.claims import Claims, read_claims
from spec2prod_assets.testing.traceability import MAX_TESTS_SHOWN, trace
from tests.conftest import write_files
from tests.support.layouts import layout_of

_SPEC = """\
# Calculator

## Requirements
- FR-1: `divide` raises `ValueError` for a zero divisor.
- Results are | plain floats.

## Acceptance Criteria
- AC-1: `add(2, 3) == 5`.
- AC-2: `divide(1, 0)` raises `ValueError`.
- AC-3: `percentage(1, 4) == 25.0`.
"""
SPEC = parse_spec_text(_SPEC, spec_path="specs/calculator.md")
T = "tests/test_calc.py::"


def _outcome(name: str, outcome: runner.TestOutcomeKind) -> runner.TestOutcome:
    return runner.TestOutcome(test_id=T + name, outcome=outcome)


def _claims(**tests: set[str]) -> Claims:
    return Claims(tests={T + name: frozenset(ids) for name, ids in tests.items()})


def test_a_criterion_with_only_a_failing_test_is_untested() -> None:
    claims = _claims(test_divide={"AC-2", "FR-1"}, test_percent={"AC-3"}, test_add_skipped={"AC-1"})
    outcomes = [
        _outcome("test_divide", "passed"),
        _outcome("test_percent", "failed"),
        _outcome("test_add_skipped", "skipped"),
    ]
    traced = trace(SPEC, claims, outcomes)
    by_id = {t.id: t for t in traced.items}
    assert [t.id for t in traced.items] == ["AC-1", "AC-2", "AC-3", "FR-1", "R-1"]
    assert by_id["AC-2"].passing == (T + "test_divide",)
    assert (by_id["AC-3"].passing, by_id["AC-3"].failing) == ((), (T + "test_percent",))
    assert [t.id for t in traced.untested] == ["AC-1", "AC-3"]
    assert traced.metrics() == {
        "criteria_total": 3,
        "criteria_traced": 1,
        "criteria_untested": 2,
        "requirements_total": 2,
        "requirements_traced": 1,
    }


def test_each_parametrized_case_is_listed_under_the_criterion_its_function_claims() -> None:
    outcomes = [_outcome("test_percent[1]", "passed"), _outcome("test_percent[2]", "error")]
    traced = trace(SPEC, _claims(test_percent={"AC-3"}), outcomes)
    ac3 = next(t for t in traced.criteria if t.id == "AC-3")
    assert (ac3.passing, ac3.failing) == ((T + "test_percent[1]",), (T + "test_percent[2]",))
    assert ac3.traced


def test_the_table_names_passing_tests_and_marks_criteria_with_none() -> None:
    outcomes = [_outcome("test_divide", "passed"), _outcome("test_percent", "failed")]
    table = trace(SPEC, _claims(test_divide={"AC-2"}, test_percent={"AC-3"}), outcomes).markdown_table()
    lines = table.splitlines()
    assert lines[:2] == ["| Id | Criterion | Passing tests |", "|---|---|---|"]
    assert lines[2] == "| AC-1 | `add(2, 3) == 5`. | **none** |"
    assert lines[3] == f"| AC-2 | `divide(1, 0)` raises `ValueError`. | `{T}test_divide` |"
    assert lines[4] == f"| AC-3 | `percentage(1, 4) == 25.0`. | **none** (failing: `{T}test_percent`) |"
    assert lines[6] == r"| R-1 | Results are \| plain floats. | **none** |"


def test_a_long_list_of_tests_is_cut_in_the_table() -> None:
    names = [f"test_{n}" for n in range(MAX_TESTS_SHOWN + 2)]
    outcomes = [_outcome(name, "passed") for name in names]
    traced = trace(SPEC, _claims(**{name: {"AC-1"} for name in names}), outcomes)
    assert len(traced.criteria[0].passing) == MAX_TESTS_SHOWN + 2
    assert traced.markdown_table().splitlines()[2].endswith("and 2 more |")


def test_unknown_ids_and_unreadable_files_are_reported_under_the_table(tmp_path: Path) -> None:
    tree = write_files(
        tmp_path,
        {
            "tests/test_a.py": 'import pytest\n@pytest.mark.spec("AC-9")\ndef test_a():\n    pass\n',
            "tests/test_b.py": "def test_b(:\n",
        },
    )
    claims = read_claims(tree, ["tests"], [c.id for c in SPEC.acceptance_criteria])
    table = trace(SPEC, claims, [runner.TestOutcome(test_id="tests/test_a.py::test_a", outcome="passed")])
    assert table.unknown_ids == ("AC-9",)
    assert "Tests claim ids the spec does not have: AC-9." in table.markdown_table()
    assert "tests/test_b.py (does not parse" in table.markdown_table()


_CALC = "def add(a, b):\n    return a + b\n"
_MARKED_TEST = """\
import pytest
from calc.ops import add


@pytest.mark.spec("AC-1")
def test_add():
    assert add(2, 3) == 5
"""


def test_a_marked_test_passes_a_real_run_with_strict_markers_and_is_traced(tmp_path: Path) -> None:
    """`--strict-markers` turns an unregistered mark into a collection error: the plugin registers it."""
    tree = write_files(
        tmp_path / "tree",
        {
            "pytest.ini": "[pytest]\naddopts = --strict-markers -W error::pytest.PytestUnknownMarkWarning\n",
            "src/calc/__init__.py": "",
            "src/calc/ops.py": _CALC,
            "tests/test_calc.py": _MARKED_TEST,
        },
    )
    layout = layout_of("src/calc", pytest_config="pytest.ini")
    run = runner.run_tests(tree, layout, output_dir=tmp_path / "out", timeout_s=60.0)
    assert run.outcome_map() == {"tests/test_calc.py::test_add": "passed"}
    assert "Unknown pytest.mark" not in run.output_tail
    claims = read_claims(tree, layout.existing_test_paths(tree), [c.id for c in SPEC.acceptance_criteria])
    assert [t.id for t in trace(SPEC, claims, run.outcomes).untested] == ["AC-2", "AC-3"]
