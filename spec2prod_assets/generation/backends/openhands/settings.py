"""How to reach an agent server and how to run the agent there; the resource fills it from its config.

No defaults here: `OpenHandsResource` documents and defaults every field, so there is one place to
look. The keys stay out of `repr`, so a settings object can be logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class OpenHandsSettings:
    base_url: str
    api_key: str | None = field(repr=False)
    auth_scheme: Literal["session_key", "bearer"]
    llm_model: str
    llm_api_key: str | None = field(repr=False)
    llm_base_url: str | None
    working_root: str
    timeout_s: float
    request_timeout_s: float
    max_iterations: int
    max_retries: int
    backoff_s: float
    backoff_max_s: float
    circuit_breaker_threshold: int
    circuit_breaker_reset_s: float

    @property
    def server(self) -> str:
        """The base URL without a trailing slash: what API paths are appended to."""
        return self.base_url.rstrip("/")
