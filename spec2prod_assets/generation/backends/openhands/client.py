"""The HTTP calls to an agent server: a deadline on each, bounded retries, the circuit breaker, redaction.

`request_timeout_s` bounds each attempt as a whole (connect, send, and every byte of the answer), and
answers are streamed and refused past a size limit, so a server that drips bytes or sends gigabytes
holds nothing for long. Connection errors, timeouts, 429 and 5xx are retried with exponential backoff
and jitter (honouring `Retry-After`); other 4xx are fatal with the server's `detail`. The keys and the
URL's credentials never appear in logs or errors: servers may echo request bodies back (FastAPI's 422
does). Keys never go over plain HTTP to another machine unless the user opts in.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import random
import time
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from spec2prod_assets.generation.backends.openhands.breaker import breaker_for
from spec2prod_assets.generation.backends.openhands.errors import (
    CircuitOpenError,
    OpenHandsHTTPError,
    OpenHandsInsecure,
    OpenHandsResponseTooLarge,
    OpenHandsTimeout,
    OpenHandsUnavailable,
)
from spec2prod_assets.generation.backends.openhands.settings import OpenHandsSettings

MAX_DETAIL_CHARS = 500
MAX_RESPONSE_BYTES = 10_000_000  # an API answer; file downloads pass their own, smaller limit
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
# Headers about the body on the wire: the buffered body handed back is already decoded and whole.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class AgentServerClient:
    """Calls to one agent server from one coroutine: Dagster may run each step on a different event loop.

    Use it as `async with AgentServerClient(settings, log) as client:`; the connection pool closes on exit.
    """

    def __init__(self, settings: OpenHandsSettings, log: logging.Logger) -> None:
        check_transport(settings)
        self._settings = settings
        self._log = log
        self._breaker = breaker_for(
            settings.server, settings.circuit_breaker_threshold, settings.circuit_breaker_reset_s
        )
        headers: dict[str, str] = {}
        api_key = (settings.api_key or "").strip()
        if api_key:
            if settings.auth_scheme == "bearer":
                headers["Authorization"] = f"Bearer {api_key}"
            else:
                headers["X-Session-API-Key"] = api_key
        # Credentials in the URL become basic auth, so the URL httpx logs and raises with has none.
        url = urlsplit(settings.server)
        auth = (
            httpx.BasicAuth(unquote(url.username or ""), unquote(url.password or ""))
            if url.username
            else None
        )
        self._http = httpx.AsyncClient(
            base_url=settings.display_url,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(settings.request_timeout_s),
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

    async def call(
        self, method: str, path: str, *, max_bytes: int = MAX_RESPONSE_BYTES, **kwargs: Any
    ) -> httpx.Response:
        """One API call with retries and the circuit breaker; returns a 2xx response or raises.

        An answer longer than `max_bytes` raises `OpenHandsResponseTooLarge` once that many are read.
        """
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
        return await retrying(self._attempt, method, path, max_bytes, **kwargs)

    def redact(self, text: str) -> str:
        """`text` with the keys and the URL's credentials replaced, for anything a server said."""
        for secret in self._settings.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    async def _attempt(self, method: str, path: str, max_bytes: int, **kwargs: Any) -> httpx.Response:
        self._breaker.check(self._settings.display_url)
        try:
            async with asyncio.timeout(self._settings.request_timeout_s):
                response = await self._read(method, path, max_bytes, **kwargs)
        except (TimeoutError, httpx.TimeoutException) as exc:
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

    async def _read(self, method: str, path: str, max_bytes: int, **kwargs: Any) -> httpx.Response:
        """The whole answer, streamed and given up on as soon as it passes `max_bytes`."""
        async with self._http.stream(method, path, **kwargs) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(method, path, max_bytes)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(method, path, max_bytes)
                chunks.append(chunk)
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
        return httpx.Response(
            response.status_code, headers=headers, content=b"".join(chunks), request=response.request
        )

    def _record_failure(self) -> None:
        if self._breaker.record_failure():
            self._log.warning(
                "OpenHands circuit opened for %s after %d consecutive failed calls",
                self._settings.display_url,
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


def check_transport(settings: OpenHandsSettings) -> None:
    """Refuse to send keys or URL credentials over plain HTTP to another machine, unless opted in."""
    parts = urlsplit(settings.server)
    carries_secrets = bool(settings.api_key or settings.llm_api_key or parts.password)
    if parts.scheme != "http" or not carries_secrets or settings.allow_insecure:
        return
    host = parts.hostname or ""
    if host in _LOOPBACK_NAMES or _is_loopback_address(host):
        return
    raise OpenHandsInsecure(
        f"refusing to send the OpenHands keys over plain HTTP to {host!r}: use https:// in OPENHANDS_URL, "
        "or set OPENHANDS_ALLOW_INSECURE=1 to send them unencrypted anyway"
    )


def _is_loopback_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _too_large(method: str, path: str, limit: int) -> OpenHandsResponseTooLarge:
    return OpenHandsResponseTooLarge(f"{method} {path}: response larger than {limit} bytes", limit=limit)


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
