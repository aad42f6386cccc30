"""OpenHands as a test generator: the Agent Server REST API behind the `TestGenerator` protocol.

A task becomes one conversation on an OpenHands agent server. `submit` uploads the component into a fresh
git repository on the agent host and starts the agent there, so `collect` can ask git what the agent
changed and keep only new or changed test files. The conversation carries everything `collect` needs
(its workspace, and the tests folder as a tag), so a handle is enough from any process.

Every call has a timeout; connection errors, timeouts, 429 and 5xx are retried with exponential backoff
and jitter (honouring `Retry-After`); other 4xx are fatal with the server's `detail`. A circuit breaker per
agent server and process makes calls fail fast once the server has failed repeatedly, so a dead server is
not hammered while the run degrades. The API key and the LLM key never appear in logs, errors or reprs.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeVar, cast

import dagster as dg
import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from spec2prod_assets.generation.protocol import (
    GeneratedFile,
    GeneratedFiles,
    GenerationTask,
    GeneratorError,
    RejectedPath,
    TaskHandle,
    TaskState,
    TaskStatus,
    rejection_reason,
)

DEFAULT_LLM_MODEL = "openai/gpt-4o"
_BATCH_LIMIT = 99  # the agent server's cap on `ids` per batch request
_UPLOAD_CONCURRENCY = 8
_MAX_FILE_BYTES = 1_000_000
_MAX_DETAIL_CHARS = 500
# Local clutter that would only slow the upload and pollute the agent's git status.
_SKIPPED_NAMES = frozenset(
    {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv", ".coverage"}
)
_TASK_TAG = "spec2prodtask"
_TESTS_TAG = "testspath"
_GIT_BASELINE = (
    "git init -q && git add -A && "
    "git -c user.name=spec2prod -c user.email=spec2prod@localhost "
    "commit -q --allow-empty -m 'spec2prod: workspace before generation'"
)
_STATUS_FAILURES = {
    "stuck": "stuck: the agent repeated itself without progress",
    "waiting_for_confirmation": "needs input: the agent waits for a confirmation",
    "deleting": "conversation is being deleted",
}

_logger = dg.get_dagster_logger(__name__)


# ---------------------------------------------------------------------------------------------------
# Errors: one hierarchy, caught by kind (HTTP status, unreachable/timeout, circuit open, bad payload).


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


# ---------------------------------------------------------------------------------------------------
# Typed payloads: the only place raw API JSON is read. Unknown fields are ignored.


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _TokenUsage(_Payload):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Metrics(_Payload):
    accumulated_cost: float = 0.0
    accumulated_token_usage: _TokenUsage | None = None


class _Stats(_Payload):
    usage_to_metrics: dict[str, _Metrics] = Field(default_factory=dict)


class _Workspace(_Payload):
    working_dir: str


class _Conversation(_Payload):
    id: uuid.UUID
    execution_status: str
    workspace: _Workspace
    tags: dict[str, str] = Field(default_factory=dict)
    metrics: _Metrics | None = None
    stats: _Stats = Field(default_factory=_Stats)


class _Action(_Payload):
    kind: str = ""


class _Event(_Payload):
    kind: str
    source: str | None = None
    action: _Action | None = None
    code: str | None = None
    detail: str | None = None


class _EventPage(_Payload):
    items: list[_Event]


class _Change(_Payload):
    status: str
    path: str


class _BashOutput(_Payload):
    exit_code: int | None = None
    stdout: str | None = None
    stderr: str | None = None


_PayloadT = TypeVar("_PayloadT", bound=BaseModel)
_T = TypeVar("_T")


# ---------------------------------------------------------------------------------------------------
# Circuit breaker: shared by every resource instance that talks to the same server in this process.


class _CircuitBreaker:
    """Opens after `threshold` consecutive failed calls; after `reset_s` one trial call may pass."""

    def __init__(self, threshold: int, reset_s: float) -> None:
        self._threshold = threshold
        self._reset_s = reset_s
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    def check(self, server: str) -> None:
        with self._lock:
            if self._opened_at is None:
                return
            remaining = self._opened_at + self._reset_s - time.monotonic()
            if remaining > 0:
                raise CircuitOpenError(
                    f"circuit open for {server}: {self._failures} consecutive failed calls; "
                    f"no calls for another {remaining:.1f} s"
                )
            # Half-open: let this call through; one more failure re-opens at once.
            self._opened_at = None
            self._failures = self._threshold - 1

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def record_failure(self, server: str) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self._threshold and self._opened_at is None:
                self._opened_at = time.monotonic()
                _logger.warning(
                    "OpenHands circuit opened for %s after %d consecutive failed calls",
                    server,
                    self._failures,
                )


_BREAKERS: dict[str, _CircuitBreaker] = {}
_BREAKERS_LOCK = threading.Lock()


def _breaker_for(base_url: str, threshold: int, reset_s: float) -> _CircuitBreaker:
    """The breaker for `base_url`; the settings of the first resource that asks for it are kept."""
    with _BREAKERS_LOCK:
        breaker = _BREAKERS.get(base_url)
        if breaker is None:
            breaker = _BREAKERS[base_url] = _CircuitBreaker(threshold, reset_s)
        return breaker


# ---------------------------------------------------------------------------------------------------


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
    poll_interval_s: float = Field(default=10.0, description="How often callers should poll.")
    timeout_s: float = Field(default=1800.0, description="Deadline per task, from its submission.")
    request_timeout_s: float = Field(default=30.0, description="Timeout of one HTTP call.")
    max_iterations: int = Field(default=50, description="Agent steps before the server stops the run.")
    max_retries: int = Field(default=4, description="Retries of one call after the first attempt.")
    backoff_s: float = Field(default=1.0, description="First retry wait; doubles each retry, plus jitter.")
    backoff_max_s: float = Field(default=30.0, description="Longest wait between retries.")
    circuit_breaker_threshold: int = Field(default=5, description="Consecutive failed calls that open it.")
    circuit_breaker_reset_s: float = Field(default=60.0, description="How long it stays open.")

    @property
    def generator_name(self) -> str:
        return "openhands"

    # -- the protocol --------------------------------------------------------------------------------

    async def submit(self, task: GenerationTask) -> TaskHandle:
        """Start the agent on a fresh copy of the task's workspace; returns the handle without waiting.

        A retried request reuses the conversation id chosen here, so the server starts one run only.
        """
        submitted_at = time.time()
        source = Path(task.workspace_dir)
        if not source.is_dir():
            raise GeneratorError(f"workspace_dir {task.workspace_dir!r} is not a folder")
        if not PurePosixPath(self.working_root).is_absolute():
            raise GeneratorError(f"working_root {self.working_root!r} must be an absolute path")
        conversation_id = uuid.uuid4()
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", task.task_id)
        workspace = f"{self.working_root.rstrip('/')}/{slug}-{conversation_id.hex[:8]}"
        async with self._client() as client:
            await self._upload_tree(client, source, workspace)
            await self._git_baseline(client, workspace)
            response = await self._call(
                client,
                "POST",
                "/api/conversations",
                json=self._conversation_request(task, conversation_id, workspace),
            )
        conversation = self._parse(_Conversation, response)
        if conversation.id != conversation_id:
            raise OpenHandsProtocolError(f"asked for conversation {conversation_id}, got {conversation.id}")
        _logger.info("Submitted task %s as OpenHands conversation %s", task.task_id, conversation_id)
        return TaskHandle(task_id=task.task_id, backend_id=str(conversation_id), submitted_at=submitted_at)

    async def poll(self, handles: Sequence[TaskHandle]) -> list[TaskStatus]:
        """The status of each handle, in order: one batch request (per 99), plus events for ended ones."""
        if not handles:
            return []
        async with self._client() as client:
            conversations: list[_Conversation | None] = []
            for start in range(0, len(handles), _BATCH_LIMIT):
                chunk = handles[start : start + _BATCH_LIMIT]
                response = await self._call(
                    client, "GET", "/api/conversations", params=[("ids", h.backend_id) for h in chunk]
                )
                conversations.extend(self._parse_batch(response, len(chunk)))
            return await _all(
                [self._status(client, h, c) for h, c in zip(handles, conversations, strict=True)]
            )

    async def collect(self, handle: TaskHandle) -> GeneratedFiles:
        """The new or changed Python files under the task's tests folder; every other change is rejected."""
        conversation_path = f"/api/conversations/{handle.backend_id}"
        async with self._client() as client:
            conversation = self._parse(_Conversation, await self._call(client, "GET", conversation_path))
            tests_path = conversation.tags.get(_TESTS_TAG)
            if not tests_path:
                raise OpenHandsProtocolError(f"conversation {handle.backend_id} has no {_TESTS_TAG!r} tag")
            workspace = conversation.workspace.working_dir
            response = await self._call(
                client, "GET", "/api/git/changes", params={"path": workspace, "ref": "HEAD"}
            )
            changes = self._parse_list(_Change, response)
            kept: list[GeneratedFile] = []
            rejected: list[RejectedPath] = []
            for change in changes:
                reason = _change_rejection(change, tests_path)
                if reason is None:
                    content, reason = await self._download_text(client, f"{workspace}/{change.path}")
                    if content is not None:
                        kept.append(GeneratedFile(path=change.path, content=content))
                        continue
                rejected.append(RejectedPath(path=change.path, reason=reason or "unreadable"))
        _logger.info(
            "Collected %d test file(s) from conversation %s, rejected %d path(s)",
            len(kept),
            handle.backend_id,
            len(rejected),
        )
        return GeneratedFiles(task_id=handle.task_id, files=tuple(kept), rejected=tuple(rejected))

    # -- steps ---------------------------------------------------------------------------------------

    def _conversation_request(
        self, task: GenerationTask, conversation_id: uuid.UUID, workspace: str
    ) -> dict[str, Any]:
        llm: dict[str, Any] = {"model": self.llm_model, "usage_id": "agent"}
        if self.llm_api_key:
            llm["api_key"] = self.llm_api_key
        if self.llm_base_url:
            llm["base_url"] = self.llm_base_url
        return {
            "conversation_id": str(conversation_id),
            "workspace": {"working_dir": workspace},
            "agent": {"kind": "Agent", "llm": llm, "tools": [{"name": "terminal"}, {"name": "file_editor"}]},
            "initial_message": {
                "role": "user",
                "content": [{"type": "text", "text": _prompt(task, workspace)}],
                "run": True,
            },
            "max_iterations": self.max_iterations,
            "tags": {_TASK_TAG: task.task_id[:256], _TESTS_TAG: task.tests_path},
        }

    async def _upload_tree(self, client: httpx.AsyncClient, source: Path, workspace: str) -> None:
        limit = asyncio.Semaphore(_UPLOAD_CONCURRENCY)

        async def upload(path: Path) -> None:
            relative = path.relative_to(source).as_posix()
            async with limit:
                await self._call(
                    client,
                    "POST",
                    "/api/file/upload",
                    params={"path": f"{workspace}/{relative}"},
                    files={"file": (path.name, path.read_bytes())},
                )

        await _all([upload(path) for path in _files_to_upload(source)])

    async def _git_baseline(self, client: httpx.AsyncClient, workspace: str) -> None:
        """Commit the uploaded workspace, so git tells apart what the agent changed."""
        response = await self._call(
            client,
            "POST",
            "/api/bash/execute_bash_command",
            json={"command": _GIT_BASELINE, "cwd": workspace, "timeout": int(self.request_timeout_s)},
        )
        output = self._parse(_BashOutput, response)
        if output.exit_code != 0:
            tail = (output.stderr or output.stdout or "").strip()[-_MAX_DETAIL_CHARS:]
            raise OpenHandsError(
                f"could not make the workspace a git repository (exit {output.exit_code}): {tail}"
            )

    async def _status(
        self, client: httpx.AsyncClient, handle: TaskHandle, conversation: _Conversation | None
    ) -> TaskStatus:
        if conversation is None:
            return TaskStatus(task_id=handle.task_id, state=TaskState.FAILED, detail="conversation not found")
        cost_usd, prompt_tokens, completion_tokens = self._usage(conversation)

        def status(state: TaskState, detail: str) -> TaskStatus:
            return TaskStatus(
                task_id=handle.task_id,
                state=state,
                detail=_clip(self._redact(detail)),
                cost_usd=cost_usd,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                link=f"{self.base_url.rstrip('/')}/api/conversations/{handle.backend_id}",
            )

        execution_status = conversation.execution_status
        try:
            if execution_status == "finished":
                last = await self._last_event(client, handle.backend_id, source="agent")
                if last and last.kind == "ActionEvent" and last.action and last.action.kind == "FinishAction":
                    return status(TaskState.SUCCEEDED, "finished")
                return status(TaskState.FAILED, "ended without FinishAction")
            if execution_status == "error":
                error = await self._last_event(client, handle.backend_id, kind="ConversationErrorEvent")
                return status(TaskState.FAILED, f"{error.code}: {error.detail}" if error else "error")
        except OpenHandsHTTPError as exc:
            if exc.status != 404:
                raise
            return status(TaskState.FAILED, "conversation not found")
        if execution_status in _STATUS_FAILURES:
            return status(TaskState.FAILED, _STATUS_FAILURES[execution_status])
        if execution_status not in ("idle", "running", "paused"):
            return status(TaskState.FAILED, f"unknown execution_status {execution_status!r}")
        if time.time() > handle.submitted_at + self.timeout_s:
            paused = await self._pause(client, handle)
            return status(
                TaskState.FAILED, f"deadline: not done {self.timeout_s:g} s after submission; {paused}"
            )
        return status(TaskState.RUNNING, execution_status)

    async def cancel(self, handle: TaskHandle) -> str:
        """Pause the conversation so it stops spending; what happened, as text. Never raises."""
        try:
            async with self._client() as client:
                return await self._pause(client, handle)
        except OpenHandsError as exc:
            return f"could not pause it ({exc})"

    async def _pause(self, client: httpx.AsyncClient, handle: TaskHandle) -> str:
        """Stop a run past its deadline from spending more, as far as the server lets us."""
        try:
            await self._call(client, "POST", f"/api/conversations/{handle.backend_id}/pause")
        except OpenHandsError as exc:
            return f"could not pause it ({exc})"
        return "paused it"

    async def _last_event(
        self,
        client: httpx.AsyncClient,
        conversation_id: str,
        *,
        source: str | None = None,
        kind: str | None = None,
    ) -> _Event | None:
        params = {"limit": "1", "sort_order": "TIMESTAMP_DESC"}
        if source:
            params["source"] = source
        if kind:
            params["kind"] = kind
        response = await self._call(
            client, "GET", f"/api/conversations/{conversation_id}/events/search", params=params
        )
        page = self._parse(_EventPage, response)
        return page.items[0] if page.items else None

    async def _download_text(self, client: httpx.AsyncClient, path: str) -> tuple[str | None, str | None]:
        """The file's text, or None and why it is refused."""
        response = await self._call(client, "GET", "/api/file/download", params={"path": path})
        if len(response.content) > _MAX_FILE_BYTES:
            return None, f"larger than {_MAX_FILE_BYTES} bytes"
        try:
            return response.content.decode("utf-8"), None
        except UnicodeDecodeError:
            return None, "not UTF-8 text"

    # -- HTTP ----------------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        """A client for one coroutine: Dagster may run each step on a different event loop."""
        headers: dict[str, str] = {}
        if self.api_key:
            if self.auth_scheme == "bearer":
                headers["Authorization"] = f"Bearer {self.api_key}"
            else:
                headers["X-Session-API-Key"] = self.api_key
        return httpx.AsyncClient(
            base_url=self.base_url.rstrip("/"), headers=headers, timeout=httpx.Timeout(self.request_timeout_s)
        )

    async def _call(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call with retries and the circuit breaker; returns a 2xx response or raises."""
        breaker = _breaker_for(self.base_url, self.circuit_breaker_threshold, self.circuit_breaker_reset_s)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, OpenHandsHTTPError) and error.retry_after_s is not None:
                return min(error.retry_after_s, self.backoff_max_s)
            exponential = min(self.backoff_s * 2 ** (state.attempt_number - 1), self.backoff_max_s)
            # Jitter spreads the retries of many tasks that failed together.
            return exponential + random.uniform(0, self.backoff_s)

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait_s = state.next_action.sleep if state.next_action else 0.0
            _logger.warning(
                "OpenHands %s %s failed (%s); retry %d of %d in %.2f s",
                method,
                path,
                error,
                state.attempt_number,
                self.max_retries,
                wait_s,
            )

        async def attempt() -> httpx.Response:
            breaker.check(self.base_url)
            try:
                response = await client.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                breaker.record_failure(self.base_url)
                raise OpenHandsTimeout(
                    f"{method} {path}: no answer within {self.request_timeout_s} s"
                ) from exc
            except httpx.TransportError as exc:
                breaker.record_failure(self.base_url)
                raise OpenHandsUnavailable(
                    f"{method} {path}: {type(exc).__name__}: {self._redact(str(exc))}"
                ) from exc
            # A 429 or other 4xx still proves the server is up: only 5xx counts against it.
            if response.status_code >= 500:
                breaker.record_failure(self.base_url)
            else:
                breaker.record_success()
            if response.is_error:
                raise self._http_error(method, path, response)
            return response

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=wait,
            retry=retry_if_exception(_is_transient),
            before_sleep=log_retry,
            reraise=True,
        )
        return await retrying(attempt)

    def _http_error(self, method: str, path: str, response: httpx.Response) -> OpenHandsHTTPError:
        status = response.status_code
        detail = self._redact(_detail_of(response))
        if status == 401:
            message = "unauthorized: check OPENHANDS_API_KEY"
        else:
            message = f"{method} {path} -> {status}: {detail}"
        return OpenHandsHTTPError(
            _clip(message), status=status, detail=_clip(detail), retry_after_s=_retry_after(response)
        )

    def _redact(self, text: str) -> str:
        """Servers may echo request bodies in errors (FastAPI's 422 does): never let a key through."""
        for secret in (self.api_key, self.llm_api_key):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    # -- converters ----------------------------------------------------------------------------------

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            request = response.request
            raise OpenHandsProtocolError(f"malformed JSON from {request.method} {request.url.path}") from None

    @staticmethod
    def _parse(model: type[_PayloadT], response: httpx.Response) -> _PayloadT:
        return _validate(model, OpenHandsResource._json(response), response)

    @staticmethod
    def _parse_list(model: type[_PayloadT], response: httpx.Response) -> list[_PayloadT]:
        data = OpenHandsResource._json(response)
        if not isinstance(data, list):
            raise OpenHandsProtocolError(f"expected a list from {response.request.url.path}")
        return [_validate(model, item, response) for item in data]

    @staticmethod
    def _parse_batch(response: httpx.Response, expected: int) -> list[_Conversation | None]:
        data = OpenHandsResource._json(response)
        if not isinstance(data, list) or len(data) != expected:
            raise OpenHandsProtocolError(f"expected a list of {expected} conversations (or nulls)")
        return [None if item is None else _validate(_Conversation, item, response) for item in data]

    @staticmethod
    def _usage(conversation: _Conversation) -> tuple[float, int, int]:
        """Cost and tokens summed over the conversation's LLMs (`stats`), else the top-level `metrics`.

        The agent server reports per-LLM figures in `stats.usage_to_metrics` (1.58.0 leaves `metrics`
        null); adding both would count twice where a server fills both.
        """
        per_llm = list(conversation.stats.usage_to_metrics.values())
        metrics = per_llm or ([conversation.metrics] if conversation.metrics else [])
        usages = [m.accumulated_token_usage for m in metrics if m.accumulated_token_usage]
        return (
            sum(m.accumulated_cost for m in metrics),
            sum(u.prompt_tokens for u in usages),
            sum(u.completion_tokens for u in usages),
        )


# ---------------------------------------------------------------------------------------------------


async def _all(coroutines: list[Coroutine[Any, Any, _T]]) -> list[_T]:
    """Run concurrently and wait for every one before raising the first error, so none outlives its client.

    (`asyncio.TaskGroup` would cancel the rest, but it wraps errors in an ExceptionGroup that callers
    catching `GeneratorError` would miss.)
    """
    results = await asyncio.gather(*coroutines, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return cast(list[_T], results)


def _validate(model: type[_PayloadT], data: Any, response: httpx.Response) -> _PayloadT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Locations and messages only: pydantic's default text quotes the input values.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise OpenHandsProtocolError(
            f"unexpected {model.__name__.lstrip('_')} from {response.request.url.path}: {problems}"
        ) from None


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


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL_CHARS else text[: _MAX_DETAIL_CHARS - 3] + "..."


def _change_rejection(change: _Change, tests_path: str) -> str | None:
    if change.status not in ("ADDED", "UPDATED"):
        return f"{change.status.lower()} by the agent"
    return rejection_reason(change.path, tests_path)


def _files_to_upload(folder: Path) -> Iterator[Path]:
    """Every regular file under `folder`, without local clutter; symlinks could point off the tree."""
    for path in sorted(folder.iterdir()):
        if path.name in _SKIPPED_NAMES or path.is_symlink():
            continue
        if path.is_dir():
            yield from _files_to_upload(path)
        elif path.is_file():
            yield path


def _prompt(task: GenerationTask, workspace: str) -> str:
    """The task's own instructions, framed with what the agent needs to act on this workspace."""
    return (
        f"You are in the git repository {workspace}. Write pytest unit tests for the module "
        f"`{task.module}` (import it as `{task.import_name}`).\n"
        f"Only add or change Python test files under {workspace}/{task.tests_path}/: changes anywhere "
        "else are discarded. The file editor needs absolute paths. Run the tests you write; call the "
        "finish tool when you are done.\n\n"
        f"{task.instructions}"
    )


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
        base_url=url,
        api_key=dg.EnvVar("OPENHANDS_API_KEY") if env.get("OPENHANDS_API_KEY") else None,
        auth_scheme="bearer" if env.get("OPENHANDS_AUTH_SCHEME", "").lower() == "bearer" else "session_key",
        llm_model=env.get("OPENHANDS_LLM_MODEL") or DEFAULT_LLM_MODEL,
        llm_api_key=dg.EnvVar("OPENHANDS_LLM_API_KEY") if env.get("OPENHANDS_LLM_API_KEY") else None,
        llm_base_url=env.get("OPENHANDS_LLM_BASE_URL") or None,
        working_root=env.get("OPENHANDS_WORKING_ROOT")
        or str(PurePosixPath(tempfile.gettempdir()) / "spec2prod-openhands"),
        **_numbers_from_env(env),
    )


def _numbers_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """OPENHANDS_MAX_ITERATIONS and OPENHANDS_TIMEOUT_S, when set; a bad value names the variable."""
    numbers: dict[str, Any] = {}
    for variable, field, kind in (
        ("OPENHANDS_MAX_ITERATIONS", "max_iterations", int),
        ("OPENHANDS_TIMEOUT_S", "timeout_s", float),
    ):
        raw = env.get(variable, "").strip()
        if not raw:
            continue
        try:
            numbers[field] = kind(raw)
        except ValueError:
            raise ValueError(f"{variable}={raw!r} is not a {kind.__name__}") from None
    return numbers
