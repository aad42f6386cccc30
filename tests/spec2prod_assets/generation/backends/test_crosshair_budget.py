"""The budget of one CrossHair run: from the module's size, between a floor and a ceiling, within what is
left of the run's deadline; always with the reason it is that size."""

from __future__ import annotations

from spec2prod_assets.generation.backends.crosshair_budget import BudgetPolicy, code_lines, task_budget

POLICY = BudgetPolicy(min_s=30.0, base_s=20.0, per_line_s=1.5, max_s=180.0)


def test_a_middle_sized_module_gets_the_base_plus_its_share_per_line() -> None:
    budget = task_budget(40, POLICY)

    assert budget.seconds == 20.0 + 1.5 * 40
    assert budget.reason == "20s + 1.5s * 40 code lines"


def test_a_tiny_module_gets_the_minimum() -> None:
    budget = task_budget(2, POLICY)

    assert budget.seconds == 30.0
    assert "raised to the minimum of 30s" in budget.reason


def test_a_large_module_is_capped_at_the_per_module_maximum() -> None:
    budget = task_budget(5000, POLICY)

    assert budget.seconds == 180.0
    assert budget.reason.endswith("capped at the per-module maximum of 180s")
    assert "5000 code lines" in budget.reason


def test_no_budget_goes_beyond_what_is_left_of_the_runs_deadline() -> None:
    budget = task_budget(40, POLICY, remaining_s=12.5)

    assert budget.seconds == 12.5
    assert budget.reason.startswith("only 12s left of the run's deadline (20s + 1.5s * 40 code lines")


def test_time_to_spare_leaves_the_sized_budget_alone() -> None:
    assert task_budget(40, POLICY, remaining_s=500.0) == task_budget(40, POLICY)


def test_a_deadline_already_passed_leaves_no_time_at_all() -> None:
    assert task_budget(40, POLICY, remaining_s=-3.0).seconds == 0.0


def test_blank_and_comment_lines_are_not_code() -> None:
    source = "# a comment\n\ndef f(x):\n    # why\n    return x  # inline\n\n\n"

    assert code_lines(source) == 2
