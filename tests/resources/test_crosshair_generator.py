"""CrossHairGeneratorResource: Dagster config for the built-in generator; its runs are tested in
tests/spec2prod_assets/generation/backends/test_crosshair.py."""

from __future__ import annotations

import pytest

from resources.env_vars import EnvVarError
from resources.generators import (
    CROSSHAIR_DEADLINE_ENV,
    CROSSHAIR_PARALLEL_ENV,
    CROSSHAIR_PER_CONDITION_ENV,
    CROSSHAIR_PER_LINE_ENV,
    CROSSHAIR_TIME_BUDGET_ENV,
    CrossHairGeneratorResource,
    crosshair_from_env,
)
from spec2prod_assets.generation.backends.crosshair import CrossHairGenerator
from spec2prod_assets.generation.protocol import TestGenerator as GeneratorProtocol
from spec2prod_assets.runtime.processes import usable_cores


def test_the_resource_hands_out_a_crosshair_generator_with_its_config() -> None:
    resource = CrossHairGeneratorResource(per_condition_timeout_s=1.5, time_budget_s=30.0)

    generator = resource.get_generator()

    assert isinstance(generator, CrossHairGenerator)
    assert isinstance(generator, GeneratorProtocol)
    assert generator.generator_name == "crosshair"
    assert (generator.per_condition_timeout_s, generator.time_budget_s) == (1.5, 30.0)


def test_each_generator_is_fresh_so_runs_do_not_share_tasks() -> None:
    resource = CrossHairGeneratorResource()

    assert resource.get_generator() is not resource.get_generator()


def test_the_budgets_come_from_the_environment_where_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CROSSHAIR_TIME_BUDGET_ENV, "45")
    monkeypatch.delenv(CROSSHAIR_PER_CONDITION_ENV, raising=False)

    resource = crosshair_from_env()

    assert resource.time_budget_s == 45.0
    assert resource.per_condition_timeout_s == CrossHairGeneratorResource().per_condition_timeout_s


def test_a_malformed_budget_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CROSSHAIR_PER_CONDITION_ENV, "2s")

    with pytest.raises(EnvVarError, match=rf"^{CROSSHAIR_PER_CONDITION_ENV}='2s': "):
        crosshair_from_env()


def test_parallelism_deadline_and_per_line_budget_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CROSSHAIR_PARALLEL_ENV, "3")
    monkeypatch.setenv(CROSSHAIR_DEADLINE_ENV, "240")
    monkeypatch.setenv(CROSSHAIR_PER_LINE_ENV, "0.25")

    generator = crosshair_from_env().get_generator()

    assert generator.max_parallel == 3
    assert generator.deadline_s == 240.0
    assert generator.budget_policy.per_line_s == 0.25


def test_by_default_as_many_runs_at_once_as_there_are_usable_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CROSSHAIR_PARALLEL_ENV, raising=False)

    generator = crosshair_from_env().get_generator()

    assert generator.max_parallel == usable_cores() >= 1


def test_zero_runs_at_once_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CROSSHAIR_PARALLEL_ENV, "0")

    with pytest.raises(EnvVarError, match=rf"^{CROSSHAIR_PARALLEL_ENV}='0': must be a whole number >= 1$"):
        crosshair_from_env()
