"""A fault-injecting fake of the OpenHands Agent Server API, served over real HTTP on loopback.

It answers the endpoints spec2prod uses with the status codes and JSON shapes of openhands-agent-server
1.58.0 (read off a live server; `test_openhands_real.py` runs the same client against the real one). It
runs no agent: each conversation plays a scripted `Outcome` once it has been polled a set number of
times, writing files into the fake's in-memory workspace, appending the events the real agent would, and
reporting the cost. What the real server will not do on demand is injected as a `Fault` per endpoint:
401 for a wrong key, 404 mid-poll, 429 with Retry-After, bursts of 500, slow, dripping, huge or malformed
answers, and a server that stops in the middle of a run.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from spec2prod_assets.generation.backends.openhands import breaker

Handler = Callable[[Request], Awaitable[Response]]
TERMINAL_STATUSES = frozenset({"finished", "error", "stuck"})
_TAG_KEY = re.compile(r"^[a-z0-9]+$")
_BATCH_LIMIT = 99
API_KEY = "session-key-7f3a9c-never-print-me"  # the session key the `fake` fixture's server expects


class LoopbackServer:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port in a background thread.

    The socket is bound before uvicorn starts, so the port is known and no other process can take it
    between choosing and binding. Start and stop are bounded in time.
    """

    def __init__(self, app: ASGIApp, *, startup_timeout_s: float = 10.0) -> None:
        self._app = app
        self._startup_timeout_s = startup_timeout_s
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + self._startup_timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError(f"loopback server did not start on port {self.port}")
            time.sleep(0.01)
        self._server, self._thread = server, thread

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving: new connections are refused from now on (the port is kept for `start`)."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout_s)
        self._server = self._thread = None

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------------
# Scripted outcomes


@dataclass(frozen=True)
class Outcome:
    """What the scripted agent does, and how its conversation ends."""

    execution_status: str = "finished"
    finish_action: bool = True
    error: tuple[str, str] | None = None
    writes: Mapping[str, str] = field(default_factory=dict)
    deletes: tuple[str, ...] = ()
    # Entries git/changes reports with no file behind them: a buggy or hostile server's answer.
    spoofed_changes: tuple[tuple[str, str], ...] = ()
    usage: Mapping[str, tuple[float, int, int]] = field(
        default_factory=lambda: {"agent": (0.0035, 1000, 100)}
    )
    polls_until_done: int | None = 1


def writes_tests(files: Mapping[str, str], **kwargs: Any) -> Outcome:
    """Writes `files` (paths relative to the workspace) and ends with a FinishAction."""
    return Outcome(writes=files, **kwargs)


def ends_without_finish(files: Mapping[str, str]) -> Outcome:
    """Writes `files`, then answers in plain text: `finished`, but no FinishAction."""
    return Outcome(writes=files, finish_action=False)


def hits_max_iterations(limit: int = 50) -> Outcome:
    return Outcome(
        execution_status="error",
        finish_action=False,
        error=("MaxIterationsReached", f"Agent reached maximum iterations limit ({limit})."),
    )


def ends_in(execution_status: str) -> Outcome:
    """Ends in a status with no events of its own, e.g. `stuck` or `waiting_for_confirmation`."""
    return Outcome(execution_status=execution_status, finish_action=False)


def runs_forever() -> Outcome:
    return Outcome(polls_until_done=None)


# ---------------------------------------------------------------------------------------------------
# Faults


@dataclass
class Fault:
    """Break the next `times` requests whose method matches and whose path starts with `path`.

    By default the request is refused before it takes effect. With `after_handling`, it takes effect and
    then its answer is delayed or replaced: the client cannot tell, which is what idempotency is for.
    """

    method: str
    path: str
    times: int = 1
    status: int | None = None
    retry_after: str | None = None
    delay_s: float = 0.0
    malformed: bool = False
    after_handling: bool = False
    # A 200 whose body comes one byte every `drip_s` (30 bytes in all), or `stream_bytes` bytes at full speed.
    drip_s: float = 0.0
    stream_bytes: int = 0
    bytes_sent: int = 0  # how much of a streamed body left the server before the client hung up

    def matches(self, request: Request) -> bool:
        return self.times > 0 and request.method == self.method and request.url.path.startswith(self.path)

    def response(self, request_body: Any = None, request: Request | None = None) -> Response | None:
        if self.drip_s or self.stream_bytes:
            return StreamingResponse(self._stream(request), media_type="application/json")
        if self.malformed:
            return Response(b'{"items": [', media_type="application/json")
        if self.status is None:
            return None
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else None
        if self.status >= 500:
            body: dict[str, Any] = {
                "detail": "Internal Server Error",
                "exception": "injected fault",
                "error_id": uuid.uuid4().hex,
            }
        elif self.status == 429:
            body = {"detail": "Server conversation run capacity is full"}
        elif self.status == 422:
            return _validation_error(["body"], "injected validation error", request_body)
        else:
            body = {"detail": f"injected {self.status}"}
        return JSONResponse(body, status_code=self.status, headers=headers)

    async def _stream(self, request: Request | None) -> AsyncIterator[bytes]:
        """The body; stops when the client hangs up (uvicorn would otherwise swallow the rest)."""
        if self.drip_s:
            for _ in range(30):
                await asyncio.sleep(self.drip_s)
                self.bytes_sent += 1
                yield b" "
            return
        chunk = b"x" * 65536
        while self.bytes_sent < self.stream_bytes:
            if request is not None and await request.is_disconnected():
                return
            self.bytes_sent += len(chunk)
            yield chunk


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]


# ---------------------------------------------------------------------------------------------------
# Conversations


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "")


def _event(kind: str, source: str, **fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "timestamp": _now(), "source": source, "kind": kind, **fields}


@dataclass
class FakeConversation:
    id: str
    working_dir: str
    request: dict[str, Any]
    outcome: Outcome
    execution_status: str = "idle"
    reads: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    usage: Mapping[str, tuple[float, int, int]] = field(default_factory=dict)
    created_at: str = field(default_factory=_now)

    def info(self) -> dict[str, Any]:
        llm = dict(self.request.get("agent", {}).get("llm", {}))
        llm["api_key"] = None  # the real server never echoes the key
        return {
            "id": self.id,
            "workspace": {"working_dir": self.working_dir, "kind": "LocalWorkspace"},
            "persistence_dir": f"workspace/conversations/{uuid.UUID(self.id).hex}",
            "max_iterations": self.request.get("max_iterations", 500),
            "stuck_detection": True,
            "execution_status": self.execution_status,
            "confirmation_policy": {"kind": "NeverConfirm"},
            "stats": {
                "usage_to_metrics": {
                    usage_id: {
                        "model_name": llm.get("model", ""),
                        "accumulated_cost": cost,
                        "max_budget_per_task": None,
                        "accumulated_token_usage": {
                            "model": llm.get("model", ""),
                            "prompt_tokens": prompt,
                            "completion_tokens": completion,
                            "cache_read_tokens": 0,
                            "cache_write_tokens": 0,
                            "reasoning_tokens": 0,
                        },
                    }
                    for usage_id, (cost, prompt, completion) in self.usage.items()
                }
            },
            "title": None,
            "metrics": None,
            "created_at": self.created_at,
            "updated_at": _now(),
            "tags": dict(self.request.get("tags") or {}),
            "agent": {**self.request.get("agent", {}), "llm": llm},
        }


class FakeOpenHands:
    """The fake server: configure `outcomes`, `default_outcome`, `api_key` and `faults`, read `requests`."""

    def __init__(self, *, api_key: str | None = None, auth_scheme: str = "session_key") -> None:
        self.api_key = api_key
        self.auth_scheme = auth_scheme
        self.default_outcome: Outcome = writes_tests({})
        self.outcomes: dict[str, Outcome] = {}
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.conversations: dict[str, FakeConversation] = {}
        self.files: dict[str, bytes] = {}
        self.commits: dict[str, dict[str, bytes]] = {}
        self.bash_exit_code = 0
        self.bash_stderr = "fatal: injected failure"
        self.download_bytes_sent = 0
        self.runs_started = 0
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._app())

    # -- test controls --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        """Go away: from now on connections are refused, as from a crashed or stopped server."""
        self._server.stop()

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def forget(self, conversation_id: str) -> None:
        """Delete a conversation behind the client's back (a hosted sandbox that was reclaimed)."""
        with self._lock:
            del self.conversations[conversation_id]

    def calls(self, method: str, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def workspace_files(self, working_dir: str) -> dict[str, bytes]:
        prefix = working_dir.rstrip("/") + "/"
        return {path[len(prefix) :]: data for path, data in self.files.items() if path.startswith(prefix)}

    # -- the app ----------------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        def route(path: str, handler: Handler, methods: list[str]) -> Route:
            return Route(path, self._guarded(handler), methods=methods)

        return Starlette(
            routes=[
                route("/alive", self._alive, ["GET"]),
                route("/server_info", self._server_info, ["GET"]),
                route("/api/conversations", self._conversations, ["GET", "POST"]),
                route("/api/conversations/{conversation_id}", self._get_conversation, ["GET"]),
                route("/api/conversations/{conversation_id}/events/search", self._search_events, ["GET"]),
                route("/api/conversations/{conversation_id}/pause", self._pause, ["POST"]),
                route("/api/file/upload", self._upload, ["POST"]),
                route("/api/file/download", self._download, ["GET"]),
                route("/api/git/changes", self._git_changes, ["GET"]),
                route("/api/bash/execute_bash_command", self._execute_bash, ["POST"]),
            ]
        )

    def _guarded(self, handler: Handler) -> Handler:
        """Record the request, check the key, then apply the first matching fault around `handler`."""

        async def endpoint(request: Request) -> Response:
            record = RecordedRequest(
                request.method, request.url.path, tuple(request.query_params.multi_items())
            )
            with self._lock:
                self.requests.append(record)
            if request.url.path.startswith("/api/") and not self._authorized(request):
                return JSONResponse({"detail": "Unauthorized"}, status_code=401)
            with self._lock:
                fault = next((f for f in self.faults if f.matches(request)), None)
                if fault is not None:
                    fault.times -= 1
            if fault is None:
                return await handler(request)
            if not fault.after_handling:
                await asyncio.sleep(fault.delay_s)
                return fault.response(await _json_or_none(request), request) or await handler(request)
            response = await handler(request)
            await asyncio.sleep(fault.delay_s)
            return fault.response() or response

        return endpoint

    def _authorized(self, request: Request) -> bool:
        if self.api_key is None:
            return True
        if self.auth_scheme == "bearer":
            return request.headers.get("authorization") == f"Bearer {self.api_key}"
        return request.headers.get("x-session-api-key") == self.api_key

    async def _alive(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def _server_info(self, request: Request) -> Response:
        return JSONResponse({"title": "OpenHands Agent Server", "version": "1.58.0"})

    async def _conversations(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._start_conversation(request)
        ids = request.query_params.getlist("ids")
        if not ids or len(ids) > _BATCH_LIMIT or not all(_is_uuid(i) for i in ids):
            return _validation_error(["query", "ids"], "ids must be 1 to 99 UUIDs", ids)
        with self._lock:
            found = [self._read(str(uuid.UUID(i))) for i in ids]
        return JSONResponse([c.info() if c else None for c in found])

    async def _start_conversation(self, request: Request) -> Response:
        body = await request.json()
        working_dir = (body.get("workspace") or {}).get("working_dir")
        if not isinstance(working_dir, str):
            return _validation_error(["body", "workspace", "working_dir"], "Field required", body)
        if not isinstance(body.get("agent"), dict) or "llm" not in body["agent"]:
            return _validation_error(["body", "agent"], "Field required", body)
        tags = body.get("tags") or {}
        if any(not _TAG_KEY.match(key) or len(str(value)) > 256 for key, value in tags.items()):
            return _validation_error(["body", "tags"], "keys must be lowercase alphanumeric", body)
        requested_id = body.get("conversation_id")
        if requested_id is not None and not _is_uuid(str(requested_id)):
            return _validation_error(["body", "conversation_id"], "Input should be a valid UUID", body)
        conversation_id = str(uuid.UUID(str(requested_id))) if requested_id else str(uuid.uuid4())
        with self._lock:
            existing = self.conversations.get(conversation_id)
            if existing is not None:
                return JSONResponse(existing.info(), status_code=200)
            name = PurePosixPath(working_dir).name
            outcome = next(
                (o for task_id, o in self.outcomes.items() if name.startswith(f"{task_id}-")),
                self.default_outcome,
            )
            conversation = FakeConversation(conversation_id, working_dir.rstrip("/"), body, outcome)
            self.conversations[conversation_id] = conversation
            text = " ".join(
                part.get("text", "") for part in (body.get("initial_message") or {}).get("content", [])
            )
            conversation.events.append(
                _event("MessageEvent", "user", llm_message={"role": "user", "content": text})
            )
            if (body.get("initial_message") or {}).get("run"):
                self.runs_started += 1
            return JSONResponse(conversation.info(), status_code=201)

    async def _get_conversation(self, request: Request) -> Response:
        with self._lock:
            conversation = self._read(request.path_params["conversation_id"])
            if conversation is None:
                return JSONResponse({"detail": "Not Found"}, status_code=404)
            return JSONResponse(conversation.info())

    async def _search_events(self, request: Request) -> Response:
        conversation_id = request.path_params["conversation_id"]
        params = request.query_params
        limit = int(params.get("limit", "100"))
        if not 0 < limit <= 100:
            return _validation_error(["query", "limit"], "must be in 1..100", limit)
        with self._lock:
            conversation = self.conversations.get(conversation_id)
            if conversation is None:
                return JSONResponse({"detail": f"Conversation not found: {conversation_id}"}, status_code=404)
            events = [
                e
                for e in conversation.events
                if params.get("kind") in (None, e["kind"]) and params.get("source") in (None, e["source"])
            ]
        if params.get("sort_order") == "TIMESTAMP_DESC":
            events.reverse()
        start = int(params.get("page_id") or 0)
        end = start + limit
        return JSONResponse(
            {"items": events[start:end], "next_page_id": str(end) if end < len(events) else None}
        )

    async def _pause(self, request: Request) -> Response:
        with self._lock:
            conversation = self.conversations.get(request.path_params["conversation_id"])
            if conversation is None:
                return JSONResponse({"detail": "Not Found"}, status_code=404)
            if conversation.execution_status not in TERMINAL_STATUSES:
                conversation.execution_status = "paused"
        return JSONResponse({"success": True})

    async def _upload(self, request: Request) -> Response:
        path = request.query_params.get("path", "")
        if not PurePosixPath(path).is_absolute():
            return JSONResponse({"detail": "Path must be absolute"}, status_code=400)
        content_type = request.headers.get("content-type", "")
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + await request.body()
        )
        parts = [
            p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "file"
        ]
        if not parts:
            return _validation_error(["body", "file"], "Field required", None)
        data = parts[0].get_payload(decode=True)
        assert isinstance(data, bytes)
        with self._lock:
            self.files[path] = data
        return JSONResponse({"success": True, "file_size": len(data)})

    async def _download(self, request: Request) -> Response:
        path = request.query_params.get("path", "")
        if not PurePosixPath(path).is_absolute():
            return JSONResponse({"detail": "Path must be absolute"}, status_code=400)
        with self._lock:
            data = self.files.get(path)
        if data is None:
            return JSONResponse({"detail": "File not found"}, status_code=404)
        return StreamingResponse(self._chunks(data, request), media_type="application/octet-stream")

    async def _chunks(self, data: bytes, request: Request) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 65536):
            if await request.is_disconnected():
                return
            with self._lock:
                self.download_bytes_sent += len(data[start : start + 65536])
            yield data[start : start + 65536]

    async def _execute_bash(self, request: Request) -> Response:
        body = await request.json()
        command, cwd = str(body.get("command", "")), str(body.get("cwd") or "").rstrip("/")
        with self._lock:
            if self.bash_exit_code == 0 and "git init" in command and "commit" in command:
                self.commits[cwd] = self.workspace_files(cwd)
            exit_code = self.bash_exit_code
        return JSONResponse(
            {
                "id": uuid.uuid4().hex,
                "timestamp": _now(),
                "command_id": uuid.uuid4().hex,
                "order": 0,
                "exit_code": exit_code,
                "stdout": None,
                "stderr": self.bash_stderr if exit_code else None,
                "kind": "BashOutput",
            }
        )

    async def _git_changes(self, request: Request) -> Response:
        repo = request.query_params.get("path", "").rstrip("/")
        with self._lock:
            base = self.commits.get(repo)
            if base is None:
                return JSONResponse([])  # not a git repository: the real server answers an empty list
            now = self.workspace_files(repo)
            spoofed = [
                change
                for conversation in self.conversations.values()
                if conversation.working_dir == repo and conversation.execution_status in TERMINAL_STATUSES
                for change in conversation.outcome.spoofed_changes
            ]
        changes = [("ADDED", p) for p in now if p not in base]
        changes += [("UPDATED", p) for p in now if p in base and now[p] != base[p]]
        changes += [("DELETED", p) for p in base if p not in now]
        changes += spoofed
        return JSONResponse(
            [{"status": status, "path": path} for status, path in sorted(changes, key=lambda c: c[1])]
        )

    # -- the scripted agent -----------------------------------------------------------------------------

    def _read(self, conversation_id: str) -> FakeConversation | None:
        """Count a status read and let the conversation advance; the caller holds the lock."""
        conversation = self.conversations.get(conversation_id)
        if conversation is None or conversation.execution_status in TERMINAL_STATUSES:
            return conversation
        if conversation.execution_status == "paused":
            return conversation
        conversation.reads += 1
        conversation.execution_status = "running"
        done_after = conversation.outcome.polls_until_done
        if done_after is not None and conversation.reads > done_after:
            self._play(conversation)
        return conversation

    def _play(self, conversation: FakeConversation) -> None:
        outcome, root = conversation.outcome, conversation.working_dir
        events = conversation.events
        events.append(
            _event("ConversationStateUpdateEvent", "environment", key="execution_status", value="running")
        )
        for relative, content in outcome.writes.items():
            path = f"{root}/{relative}"
            self.files[path] = content.encode()
            events.append(
                _event(
                    "ActionEvent",
                    "agent",
                    tool_name="file_editor",
                    action={
                        "command": "create",
                        "path": path,
                        "file_text": content,
                        "kind": "FileEditorAction",
                    },
                )
            )
            events.append(
                _event(
                    "ObservationEvent",
                    "environment",
                    tool_name="file_editor",
                    observation={"is_error": False, "kind": "FileEditorObservation"},
                )
            )
        for relative in outcome.deletes:
            self.files.pop(f"{root}/{relative}", None)
        if outcome.finish_action:
            events.append(
                _event(
                    "ActionEvent",
                    "agent",
                    tool_name="finish",
                    action={"message": "Done.", "kind": "FinishAction"},
                )
            )
            events.append(
                _event(
                    "ObservationEvent",
                    "environment",
                    tool_name="finish",
                    observation={"kind": "FinishObservation"},
                )
            )
        elif outcome.execution_status == "finished":
            events.append(
                _event(
                    "MessageEvent",
                    "agent",
                    llm_message={"role": "assistant", "content": "I wrote the tests."},
                )
            )
        if outcome.error is not None:
            code, detail = outcome.error
            events.append(_event("ConversationErrorEvent", "environment", code=code, detail=detail))
        events.append(
            _event(
                "ConversationStateUpdateEvent",
                "environment",
                key="execution_status",
                value=outcome.execution_status,
            )
        )
        conversation.usage = outcome.usage
        conversation.execution_status = outcome.execution_status


async def _json_or_none(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _validation_error(loc: list[str], message: str, given: Any) -> JSONResponse:
    """FastAPI's 422 shape, which echoes the input: a client must not put it in messages unredacted."""
    return JSONResponse(
        {"detail": [{"type": "value_error", "loc": loc, "msg": message, "input": given}]}, status_code=422
    )


@contextmanager
def running_fake_openhands(
    *, api_key: str | None = None, auth_scheme: str = "session_key"
) -> Iterator[FakeOpenHands]:
    """A started fake on a free loopback port, stopped when the block ends (also on failure)."""
    fake = FakeOpenHands(api_key=api_key, auth_scheme=auth_scheme)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


# Fixtures for the test modules that drive the fake: import them by these names (pytest finds them there).


@pytest.fixture(autouse=True)
def fresh_circuit_breakers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Breakers are per server URL and process; a later test may get a port an earlier one opened."""
    monkeypatch.setattr(breaker, "_BREAKERS", {})


@pytest.fixture(name="fake")
def fake_fixture() -> Iterator[FakeOpenHands]:
    """A started fake that wants `API_KEY`, stopped after the test."""
    with running_fake_openhands(api_key=API_KEY) as server:
        yield server
