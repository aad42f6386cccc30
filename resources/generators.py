"""The test generator resources: which `TestGenerator` writes the tests is configuration, not code.

OpenHands when OPENHANDS_URL is set (`openhands_from_env`), otherwise the built-in CrossHair generator.
The backends live in `spec2prod_assets.generation.backends`; these classes only hold their Dagster config.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import dagster as dg
from pydantic import Field

from resources.env_vars import env_choice, env_flag, env_float, env_int
from spec2prod_assets.generation.backends.crosshair import DEFAULT_DEADLINE_S, CrossHairGenerator
from spec2prod_assets.generation.backends.crosshair_budget import BudgetPolicy
from spec2prod_assets.generation.backends.openhands.generator import OpenHandsGenerator
from spec2prod_assets.generation.backends.openhands.settings import OpenHandsSettings
from spec2prod_assets.generation.protocol import TestGenerator

DEFAULT_LLM_MODEL = "openai/gpt-4o"
CROSSHAIR_TIME_BUDGET_ENV = "SPEC2PROD_CROSSHAIR_TIME_BUDGET_S"
CROSSHAIR_PER_CONDITION_ENV = "SPEC2PROD_CROSSHAIR_PER_CONDITION_S"
CROSSHAIR_PER_LINE_ENV = "SPEC2PROD_CROSSHAIR_PER_LINE_S"
CROSSHAIR_DEADLINE_ENV = "SPEC2PROD_CROSSHAIR_DEADLINE_S"
CROSSHAIR_PARALLEL_ENV = "SPEC2PROD_CROSSHAIR_PARALLEL"


class TestGeneratorResource(Protocol):
    """What `generated_tests` needs from a generator resource, whichever kind is configured."""

    def get_generator(self) -> TestGenerator: ...


class CrossHairGeneratorResource(dg.ConfigurableResource):
    """CrossHair's symbolic execution writes the tests, one local subprocess per module; costs nothing."""

    per_condition_timeout_s: float = Field(default=4.0, description="CrossHair's budget per function.")
    time_budget_s: float = Field(
        default=180.0,
        description="The most one module's run gets, however large the module "
        f"({CROSSHAIR_TIME_BUDGET_ENV}); a run still going at its budget is killed.",
    )
    min_budget_s: float = Field(default=BudgetPolicy.min_s, description="The least one module's run gets.")
    base_budget_s: float = Field(
        default=BudgetPolicy.base_s,
        description="Each run's budget before its size counts (CrossHair's start-up).",
    )
    per_line_budget_s: float = Field(
        default=BudgetPolicy.per_line_s,
        description=f"Seconds a run's budget grows per line of its module's code ({CROSSHAIR_PER_LINE_ENV}).",
    )
    deadline_s: float = Field(
        default=DEFAULT_DEADLINE_S,
        description="All of one run's CrossHair work, from its first task on "
        f"({CROSSHAIR_DEADLINE_ENV}): a queued task gets only what is left. Keep it under the "
        "`generated_tests` deadline, so a task stopped here says why.",
    )
    max_parallel: int | None = Field(
        default=None,
        description=f"CrossHair runs at once ({CROSSHAIR_PARALLEL_ENV}); the rest wait in submit order. "
        "None: the cores this process may use.",
    )

    def get_generator(self) -> CrossHairGenerator:
        """A fresh generator: it holds the running tasks of one `generate` call."""
        return CrossHairGenerator(
            per_condition_timeout_s=self.per_condition_timeout_s,
            time_budget_s=self.time_budget_s,
            min_budget_s=self.min_budget_s,
            base_budget_s=self.base_budget_s,
            per_line_budget_s=self.per_line_budget_s,
            deadline_s=self.deadline_s,
            max_parallel=self.max_parallel,
        )


class OpenHandsResource(dg.ConfigurableResource):
    """Writes unit tests with an OpenHands agent server (Agent Server REST API)."""

    base_url: str = Field(description="The agent server, e.g. http://127.0.0.1:8000.")
    api_key: str | None = Field(default=None, repr=False, description="The server's session API key.")
    auth_scheme: Literal["session_key", "bearer"] = Field(
        default="session_key",
        description="'session_key' sends X-Session-API-Key (agent server); 'bearer' sends Authorization.",
    )
    llm_model: str = Field(default=DEFAULT_LLM_MODEL, description="The agent's model, litellm style.")
    llm_api_key: str | None = Field(default=None, repr=False, description="The agent's LLM key.")
    llm_base_url: str | None = Field(default=None, description="An OpenAI-compatible endpoint for the LLM.")
    working_root: str = Field(description="Absolute folder on the agent host where workspaces are made.")
    timeout_s: float = Field(default=1800.0, description="Deadline per task, from its submission.")
    request_timeout_s: float = Field(default=30.0, description="Timeout of one HTTP call.")
    max_iterations: int = Field(default=50, description="Agent steps before the server stops the run.")
    max_retries: int = Field(default=4, description="Retries of one call after the first attempt.")
    backoff_s: float = Field(default=1.0, description="First retry wait; doubles each retry, plus jitter.")
    backoff_max_s: float = Field(default=30.0, description="Longest wait between retries.")
    circuit_breaker_threshold: int = Field(default=5, description="Consecutive failed calls that open it.")
    circuit_breaker_reset_s: float = Field(default=60.0, description="How long it stays open.")
    allow_insecure: bool = Field(
        default=False,
        description="Send keys over plain HTTP to another machine (OPENHANDS_ALLOW_INSECURE=1).",
    )

    def get_generator(self) -> OpenHandsGenerator:
        """A generator for this server; every one for the same server shares its circuit breaker."""
        # The resource's fields are the settings' fields (a test holds them equal), so copy them by name.
        settings = OpenHandsSettings(
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(OpenHandsSettings)}
        )
        return OpenHandsGenerator(settings, log=dg.get_dagster_logger(__name__))


def crosshair_from_env() -> CrossHairGeneratorResource:
    """The built-in generator, its budgets and parallelism from the environment where set: a large
    project's exploration (or a CI job with minutes to spare) needs a different budget than the bundled
    example, and a machine shared with other work fewer runs at once than it has cores."""
    seconds = {
        "time_budget_s": CROSSHAIR_TIME_BUDGET_ENV,
        "per_condition_timeout_s": CROSSHAIR_PER_CONDITION_ENV,
        "per_line_budget_s": CROSSHAIR_PER_LINE_ENV,
        "deadline_s": CROSSHAIR_DEADLINE_ENV,
    }
    settings: dict[str, Any] = {
        name: env_float(variable, at_least=0.0, strictly=True, unit="seconds")
        for name, variable in seconds.items()
    }
    settings["max_parallel"] = env_int(CROSSHAIR_PARALLEL_ENV, at_least=1)
    return CrossHairGeneratorResource(
        **{name: value for name, value in settings.items() if value is not None}
    )


def generator_is_remote(env: Mapping[str, str] | None = None) -> bool:
    """Whether the configured test generator is a remote agent (OpenHands), whose tasks wait on the network
    rather than on this machine's cores: what "auto" execution mode decides by."""
    return bool((os.environ if env is None else env).get("OPENHANDS_URL", "").strip())


def openhands_from_env() -> OpenHandsResource | None:
    """The resource configured from OPENHANDS_* variables, or None when OPENHANDS_URL is unset.

    None means: use the built-in generator. The keys are passed as `dg.EnvVar`, so Dagster resolves them
    in the step and shows only the variable names in run config.
    """
    env = os.environ
    url = env.get("OPENHANDS_URL", "").strip()
    if not url:
        return None
    return OpenHandsResource(
        # Credentials in the URL stay out of the run config Dagster shows: only the variable's name.
        base_url=dg.EnvVar("OPENHANDS_URL") if urlsplit(url).password is not None else url,
        api_key=dg.EnvVar("OPENHANDS_API_KEY") if env.get("OPENHANDS_API_KEY") else None,
        auth_scheme="bearer"
        if env_choice("OPENHANDS_AUTH_SCHEME", ("session_key", "bearer"), env=env) == "bearer"
        else "session_key",
        llm_model=env.get("OPENHANDS_LLM_MODEL") or DEFAULT_LLM_MODEL,
        llm_api_key=dg.EnvVar("OPENHANDS_LLM_API_KEY") if env.get("OPENHANDS_LLM_API_KEY") else None,
        llm_base_url=env.get("OPENHANDS_LLM_BASE_URL") or None,
        working_root=env.get("OPENHANDS_WORKING_ROOT")
        or str(PurePosixPath(tempfile.gettempdir()) / "spec2prod-openhands"),
        allow_insecure=env_flag("OPENHANDS_ALLOW_INSECURE", env=env),
        **_numbers_from_env(env),
    )


def _numbers_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """OPENHANDS_MAX_ITERATIONS and OPENHANDS_TIMEOUT_S when set; unset ones keep the resource default."""
    numbers = {
        "max_iterations": env_int("OPENHANDS_MAX_ITERATIONS", at_least=1, env=env),
        "timeout_s": env_float("OPENHANDS_TIMEOUT_S", at_least=0.0, strictly=True, unit="seconds", env=env),
    }
    return {field: value for field, value in numbers.items() if value is not None}
