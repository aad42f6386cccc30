"""One hierarchy of OpenHands errors, caught by kind: HTTP status, unreachable/timeout, circuit open, payload.

All of them are `GeneratorError`s, so the runner degrades the run the same way whatever went wrong.
"""

from __future__ import annotations

from spec2prod_assets.generation.protocol import GeneratorError


class OpenHandsError(GeneratorError):
    """The agent server did not do what was asked."""


class OpenHandsHTTPError(OpenHandsError):
    """The server answered with an error status; `detail` is its own explanation."""

    def __init__(self, message: str, *, status: int, detail: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.status >= 500


class OpenHandsUnavailable(OpenHandsError):
    """The server could not be reached (connection refused or reset, DNS, TLS)."""


class OpenHandsTimeout(OpenHandsUnavailable):
    """The server did not answer within `request_timeout_s`."""


class CircuitOpenError(OpenHandsUnavailable):
    """Calls to this server fail fast for a while after repeated failures."""


class OpenHandsProtocolError(OpenHandsError):
    """The server answered 2xx with a body that is not the JSON the API promises."""


class OpenHandsInsecure(OpenHandsError):
    """Keys would go over plain HTTP to a host that is not this machine, and the user did not opt in."""


class OpenHandsResponseTooLarge(OpenHandsProtocolError):
    """The server's answer passed the size limit of its call; the rest of it was never read."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit
