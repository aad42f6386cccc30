"""The HTTP calls to an agent server: a timeout on each, bounded retries, the circuit breaker, redaction.

Connection errors, timeouts, 429 and 5xx are retried with exponential backoff and jitter (honouring
`Retry-After`); other 4xx are fatal with the server's `detail`. The API key and the LLM key never
appear in logs or errors: servers may echo request bodies back (FastAPI's 422 does).
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from types import TracebackType
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from spec2prod_assets.generation.backends.openhands.breaker import breaker_for
from spec2prod_assets.generation.backends.openhands.errors import (
    CircuitOpenError,
    OpenHandsHTTPError,
    OpenHandsTimeout,
    OpenHandsUnavailable,
)
from spec2prod_assets.generation.backends.openhands.settings import OpenHandsSettings

MAX_DETAIL_CHARS = 500


class AgentServerClient:
    """Calls to one agent server from one coroutine: Dagster may run each step on a different event loop.

    Use it as `async with AgentServerClient(settings, log) as client:`; the connection pool closes on exit.
    """

    def __init__(self, settings: OpenHandsSettings, log: logging.Logger) -> None:
        self._settings = settings
        self._log = log
        self._breaker = breaker_for(
            settings.base_url, settings.circuit_breaker_threshold, settings.circuit_breaker_reset_s
        )
        headers: dict[str, str] = {}
        if settings.api_key:
            if settings.auth_scheme == "bearer":
                headers["Authorization"] = f"Bearer {settings.api_key}"
            else:
                headers["X-Session-API-Key"] = settings.api_key
        self._http = httpx.AsyncClient(
            base_url=settings.server, headers=headers, timeout=httpx.Timeout(settings.request_timeout_s)
        )

    async def __aenter__(self) -> AgentServerClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call with retries and the circuit breaker; returns a 2xx response or raises."""
        settings = self._settings

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, OpenHandsHTTPError) and error.retry_after_s is not None:
                return min(error.retry_after_s, settings.backoff_max_s)
            exponential = min(settings.backoff_s * 2 ** (state.attempt_number - 1), settings.backoff_max_s)
            # Jitter spreads the retries of many tasks that failed together.
            return exponential + random.uniform(0, settings.backoff_s)

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait_s = state.next_action.sleep if state.next_action else 0.0
            self._log.warning(
                "OpenHands %s %s failed (%s); retry %d of %d in %.2f s",
                method,
                path,
                error,
                state.attempt_number,
                settings.max_retries,
                wait_s,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(settings.max_retries + 1),
            wait=wait,
            retry=retry_if_exception(_is_transient),
            before_sleep=log_retry,
            reraise=True,
        )
        return await retrying(self._attempt, method, path, **kwargs)

    def redact(self, text: str) -> str:
        """`text` with the API key and the LLM key replaced, for anything a server said."""
        for secret in (self._settings.api_key, self._settings.llm_api_key):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    async def _attempt(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        server = self._settings.base_url
        self._breaker.check(server)
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            self._record_failure()
            raise OpenHandsTimeout(
                f"{method} {path}: no answer within {self._settings.request_timeout_s} s"
            ) from exc
        except httpx.TransportError as exc:
            self._record_failure()
            raise OpenHandsUnavailable(
                f"{method} {path}: {type(exc).__name__}: {self.redact(str(exc))}"
            ) from exc
        # A 429 or other 4xx still proves the server is up: only 5xx counts against it.
        if response.status_code >= 500:
            self._record_failure()
        else:
            self._breaker.record_success()
        if response.is_error:
            raise self._http_error(method, path, response)
        return response

    def _record_failure(self) -> None:
        if self._breaker.record_failure():
            self._log.warning(
                "OpenHands circuit opened for %s after %d consecutive failed calls",
                self._settings.base_url,
                self._breaker.failures,
            )

    def _http_error(self, method: str, path: str, response: httpx.Response) -> OpenHandsHTTPError:
        status = response.status_code
        detail = self.redact(_detail_of(response))
        if status == 401:
            message = "unauthorized: check OPENHANDS_API_KEY"
        else:
            message = f"{method} {path} -> {status}: {detail}"
        return OpenHandsHTTPError(
            clip(message), status=status, detail=clip(detail), retry_after_s=_retry_after(response)
        )


def clip(text: str) -> str:
    """At most `MAX_DETAIL_CHARS`: server messages go into errors and task statuses."""
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 3] + "..."


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, CircuitOpenError):
        return False
    if isinstance(error, OpenHandsHTTPError):
        return error.retryable
    return isinstance(error, OpenHandsUnavailable)


def _detail_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds, from either of its two forms (seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
