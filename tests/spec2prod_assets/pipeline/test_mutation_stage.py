"""How long each mutation run may take: on by default, off at 0, and a clear error for a bad setting."""

from __future__ import annotations

import pytest

from resources.env_vars import EnvVarError
from spec2prod_assets.pipeline.mutation_stage import (
    DEFAULT_MUTATION_BUDGET_S,
    MUTATION_BUDGET_ENV,
    mutation_budget,
)


def test_mutation_testing_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MUTATION_BUDGET_ENV, raising=False)
    assert mutation_budget() == DEFAULT_MUTATION_BUDGET_S > 0


@pytest.mark.parametrize(("raw", "expected"), [("0", 0.0), ("12.5", 12.5)])
def test_the_setting_gives_the_budget_and_zero_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: float
) -> None:
    monkeypatch.setenv(MUTATION_BUDGET_ENV, raw)
    assert mutation_budget() == expected


@pytest.mark.parametrize("raw", ["-1", "soon", "inf"])
def test_a_bad_setting_names_the_variable_and_what_it_must_be(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(MUTATION_BUDGET_ENV, raw)
    with pytest.raises(EnvVarError, match=MUTATION_BUDGET_ENV) as error:
        mutation_budget()
    assert "seconds" in str(error.value)
