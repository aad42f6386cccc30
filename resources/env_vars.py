"""Settings read from environment variables: one parser, one kind of error, one line per mistake.

A typo in a variable (`SPEC2PROD_SENSOR_INTERVAL_S=30s`) used to surface as a 37-line traceback, and each
reader checked bounds its own way (one accepted 0 and negatives). Every number or choice spec2prod reads
from the environment goes through these functions, and a malformed value raises `EnvVarError`, whose
message is the one line a person needs: the variable, its value, and what to write instead. Nothing here
reads a variable at import time: callers read when they need the value, so a command that does not use a
setting never trips over it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence


class EnvVarError(ValueError):
    """A malformed or missing environment variable; `str()` is one line naming it and what to write."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name

    @classmethod
    def malformed(cls, name: str, raw: str, expected: str) -> EnvVarError:
        """`NAME='value': must be <expected>`, the shape of every bad-value message."""
        return cls(name, f"{name}={raw!r}: must be {expected}")


def env_setting(name: str, env: Mapping[str, str] | None = None) -> str:
    """The variable's value without surrounding blanks; "" when it is unset or blank."""
    return (os.environ if env is None else env).get(name, "").strip()


def env_int(name: str, *, at_least: int, unit: str = "", env: Mapping[str, str] | None = None) -> int | None:
    """A whole number >= `at_least`, or None when unset; `unit` ("seconds") only words the error."""
    raw = env_setting(name, env)
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < at_least:
        raise EnvVarError.malformed(name, raw, f"a whole number{_of(unit)} >= {at_least}")
    return value


def env_float(
    name: str,
    *,
    at_least: float,
    strictly: bool = False,
    unit: str = "",
    env: Mapping[str, str] | None = None,
) -> float | None:
    """A finite number >= `at_least` (> when `strictly`), or None when unset."""
    raw = env_setting(name, env)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (value <= at_least if strictly else value < at_least):
        raise EnvVarError.malformed(
            name, raw, f"a number{_of(unit)} {'>' if strictly else '>='} {at_least:g}"
        )
    return value


def env_choice(name: str, choices: Sequence[str], *, env: Mapping[str, str] | None = None) -> str | None:
    """One of `choices` (any letter case; returned as listed), or None when unset."""
    raw = env_setting(name, env)
    if not raw:
        return None
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise EnvVarError.malformed(name, raw, f"one of {', '.join(choices)}")


def env_flag(name: str, *, env: Mapping[str, str] | None = None) -> bool:
    """An opt-in: unset, blank or 0 is off, 1 is on; anything else is an error, not a guess."""
    raw = env_setting(name, env)
    if raw not in ("", "0", "1"):
        raise EnvVarError.malformed(name, raw, "0 or 1")
    return raw == "1"


def _of(unit: str) -> str:
    return f" of {unit}" if unit else ""
