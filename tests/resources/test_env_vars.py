"""Settings from environment variables: a malformed one is one line naming it and what to write."""

from __future__ import annotations

import pytest

from resources.env_vars import EnvVarError, env_choice, env_flag, env_float, env_int

NAME = "SPEC2PROD_SOMETHING"


def test_an_unset_or_blank_variable_gives_none_so_the_caller_keeps_its_default() -> None:
    assert env_int(NAME, at_least=1, env={}) is None
    assert env_float(NAME, at_least=0.0, env={NAME: "   "}) is None
    assert env_choice(NAME, ("a", "b"), env={NAME: ""}) is None
    assert env_flag(NAME, env={}) is False


def test_a_whole_number_within_its_bound_is_read_with_blanks_around_it() -> None:
    assert env_int(NAME, at_least=1, env={NAME: " 30 "}) == 30


@pytest.mark.parametrize("raw", ["30s", "0", "-5", "2.5", "thirty"])
def test_a_malformed_whole_number_is_one_line_naming_the_variable_and_what_to_write(raw: str) -> None:
    with pytest.raises(EnvVarError) as caught:
        env_int(NAME, at_least=1, unit="seconds", env={NAME: raw})

    assert str(caught.value) == f"{NAME}={raw!r}: must be a whole number of seconds >= 1"
    assert caught.value.name == NAME
    assert isinstance(caught.value, ValueError)  # callers that catch ValueError keep working


def test_a_number_may_equal_its_bound_unless_the_bound_is_strict() -> None:
    assert env_float(NAME, at_least=0.0, env={NAME: "0"}) == 0.0
    assert env_float(NAME, at_least=0.0, strictly=True, env={NAME: "0.5"}) == 0.5
    with pytest.raises(EnvVarError, match=f"^{NAME}='0': must be a number > 0$"):
        env_float(NAME, at_least=0.0, strictly=True, env={NAME: "0"})


@pytest.mark.parametrize("raw", ["nan", "inf", "-1", "soon"])
def test_a_number_that_is_not_finite_or_below_its_bound_is_refused(raw: str) -> None:
    with pytest.raises(EnvVarError, match=f"^{NAME}='{raw}': must be a number of seconds >= 0$"):
        env_float(NAME, at_least=0.0, unit="seconds", env={NAME: raw})


def test_a_choice_matches_in_any_letter_case_and_comes_back_as_listed() -> None:
    assert env_choice(NAME, ("local", "command"), env={NAME: "Command"}) == "command"


def test_an_unknown_choice_lists_the_allowed_ones() -> None:
    with pytest.raises(EnvVarError, match=f"^{NAME}='kubectl': must be one of local, command$"):
        env_choice(NAME, ("local", "command"), env={NAME: "kubectl"})


def test_a_flag_is_0_or_1_and_nothing_else() -> None:
    assert env_flag(NAME, env={NAME: "1"}) is True
    assert env_flag(NAME, env={NAME: "0"}) is False
    with pytest.raises(EnvVarError, match=f"^{NAME}='yes': must be 0 or 1$"):
        env_flag(NAME, env={NAME: "yes"})


def test_without_a_mapping_the_process_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, "7")

    assert env_int(NAME, at_least=1) == 7
