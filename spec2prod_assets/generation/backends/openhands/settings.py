"""How to reach an agent server and how to run the agent there; the resource fills it from its config.

No defaults here: `OpenHandsResource` documents and defaults every field, so there is one place to
look. The keys stay out of `repr`, so a settings object can be logged; credentials in the URL stay out
of `display_url`, which is what logs, errors and task links show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

_USERINFO_RE = re.compile(r"//[^/@]*@")


@dataclass(frozen=True, kw_only=True)
class OpenHandsSettings:
    base_url: str = field(repr=False)
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
    allow_insecure: bool

    @property
    def server(self) -> str:
        """The base URL without a trailing slash: what API paths are appended to."""
        return self.base_url.strip().rstrip("/")

    @property
    def display_url(self) -> str:
        """`server` without a `user:password@` part: safe for logs, errors and links."""
        return _USERINFO_RE.sub("//", self.server, count=1)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every value to redact from what a server says: the keys as given and stripped (a key read
        from a file often ends in a newline), and the URL's credentials; longest first."""
        values: set[str] = set()
        for key in (self.api_key, self.llm_api_key):
            if key:
                values.update({key, key.strip()})
        parts = urlsplit(self.base_url.strip())
        if parts.password:
            values.update({parts.password, unquote(parts.password)})
        userinfo = parts.netloc.rpartition("@")[0]
        if userinfo:
            values.add(userinfo)
        return tuple(sorted((v for v in values if v), key=len, reverse=True))
