"""The OpenHands test generator: one conversation on an agent server per task.

`submit` uploads the component into a fresh git repository on the agent host and starts the agent there,
so `collect` can ask git what the agent changed and keep only new or changed test files. The conversation
carries everything `collect` needs (its workspace, and the tests folder as a tag), so a handle is enough
from any process.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import re
import time
import uuid
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from spec2prod_assets.generation.backends.openhands.client import MAX_DETAIL_CHARS, AgentServerClient, clip
from spec2prod_assets.generation.backends.openhands.errors import (
    OpenHandsError,
    OpenHandsHTTPError,
    OpenHandsProtocolError,
    OpenHandsResponseTooLarge,
)
from spec2prod_assets.generation.backends.openhands.payloads import (
    BashOutput,
    Change,
    Conversation,
    Event,
    EventPage,
    parse,
    parse_batch,
    parse_list,
)
from spec2prod_assets.generation.backends.openhands.settings import OpenHandsSettings
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

_BATCH_LIMIT = 99  # the agent server's cap on `ids` per batch request
_UPLOAD_CONCURRENCY = 8
_MAX_FILE_BYTES = 1_000_000
# What one task may bring back: an agent that changed thousands of files is not writing unit tests.
MAX_CHANGED_FILES = 100
_MAX_TASK_BYTES = 10_000_000
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

_T = TypeVar("_T")


class OpenHandsGenerator:
    """Writes unit tests with an OpenHands agent server; speaks the `TestGenerator` protocol."""

    def __init__(self, settings: OpenHandsSettings, *, log: logging.Logger | None = None) -> None:
        self.settings = settings
        self._log = log or logging.getLogger(__name__)

    @property
    def generator_name(self) -> str:
        return "openhands"

    @property
    def cache_identity(self) -> str:
        """What an answer depends on besides the task: the model and where it is served, the agent's step
        budget and the prompt's framing. The task cache keys on it; it holds no key or URL credentials,
        and which agent server runs the agent is left out (the same model answers the same way there)."""
        settings = self.settings
        llm_url = urlsplit(settings.llm_base_url or "")
        host = f"{llm_url.hostname}:{llm_url.port}" if llm_url.port is not None else llm_url.hostname or ""
        served_by = llm_url._replace(netloc=host, query="", fragment="").geturl()
        prompt = hashlib.sha256(inspect.getsource(_prompt).encode("utf-8")).hexdigest()[:16]
        return (
            f"openhands model={settings.llm_model} llm_base_url={served_by or '-'} "
            f"max_iterations={settings.max_iterations} prompt={prompt}"
        )

    async def submit(self, task: GenerationTask) -> TaskHandle:
        """Start the agent on a fresh copy of the task's workspace; returns the handle without waiting.

        A retried request reuses the conversation id chosen here, so the server starts one run only.
        """
        submitted_at = time.time()
        source = Path(task.workspace_dir)
        if not source.is_dir():
            raise GeneratorError(f"workspace_dir {task.workspace_dir!r} is not a folder")
        working_root = self.settings.working_root
        if not PurePosixPath(working_root).is_absolute():
            raise GeneratorError(f"working_root {working_root!r} must be an absolute path")
        conversation_id = uuid.uuid4()
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", task.task_id)
        workspace = f"{working_root.rstrip('/')}/{slug}-{conversation_id.hex[:8]}"
        async with self._client() as client:
            await self._upload_tree(client, source, workspace)
            await self._git_baseline(client, workspace)
            response = await client.call(
                "POST",
                "/api/conversations",
                json=self._conversation_request(task, conversation_id, workspace),
            )
        conversation = parse(Conversation, response)
        if conversation.id != conversation_id:
            raise OpenHandsProtocolError(f"asked for conversation {conversation_id}, got {conversation.id}")
        self._log.info("Submitted task %s as OpenHands conversation %s", task.task_id, conversation_id)
        return TaskHandle(task_id=task.task_id, backend_id=str(conversation_id), submitted_at=submitted_at)

    async def poll(self, handles: Sequence[TaskHandle]) -> list[TaskStatus]:
        """The status of each handle, in order: one batch request (per 99), plus events for ended ones."""
        if not handles:
            return []
        async with self._client() as client:
            conversations: list[Conversation | None] = []
            for start in range(0, len(handles), _BATCH_LIMIT):
                chunk = handles[start : start + _BATCH_LIMIT]
                response = await client.call(
                    "GET", "/api/conversations", params=[("ids", h.backend_id) for h in chunk]
                )
                conversations.extend(parse_batch(response, len(chunk)))
            return await _all(
                [self._status(client, h, c) for h, c in zip(handles, conversations, strict=True)]
            )

    async def collect(self, handle: TaskHandle) -> GeneratedFiles:
        """The new or changed Python files under the task's tests folder; every other change is rejected."""
        async with self._client() as client:
            response = await client.call("GET", f"/api/conversations/{handle.backend_id}")
            conversation = parse(Conversation, response)
            tests_path = conversation.tags.get(_TESTS_TAG)
            if not tests_path:
                raise OpenHandsProtocolError(f"conversation {handle.backend_id} has no {_TESTS_TAG!r} tag")
            workspace = conversation.workspace.working_dir
            response = await client.call("GET", "/api/git/changes", params={"path": workspace, "ref": "HEAD"})
            changes = parse_list(Change, response)
            kept: list[GeneratedFile] = []
            rejected: list[RejectedPath] = []
            budget = _MAX_TASK_BYTES
            for change in changes[:MAX_CHANGED_FILES]:
                reason = _change_rejection(change, tests_path)
                if reason is None and budget <= 0:
                    reason = f"over the limit of {_MAX_TASK_BYTES} bytes per task"
                elif reason is None:
                    limit = min(_MAX_FILE_BYTES, budget)
                    content, reason = await _download_text(client, f"{workspace}/{change.path}", limit)
                    if content is not None:
                        budget -= len(content.encode())
                        kept.append(GeneratedFile(path=change.path, content=content))
                        continue
                rejected.append(RejectedPath(path=change.path, reason=reason or "unreadable"))
            if len(changes) > MAX_CHANGED_FILES:
                rejected.append(
                    RejectedPath(
                        path=f"{len(changes) - MAX_CHANGED_FILES} more changed file(s), not collected",
                        reason=f"over the limit of {MAX_CHANGED_FILES} changed files per task",
                    )
                )
        self._log.info(
            "Collected %d test file(s) from conversation %s, rejected %d path(s)",
            len(kept),
            handle.backend_id,
            len(rejected),
        )
        return GeneratedFiles(task_id=handle.task_id, files=tuple(kept), rejected=tuple(rejected))

    async def cancel(self, handle: TaskHandle) -> str:
        """Pause the conversation so it stops spending; what happened, as text. Never raises.

        Bounded by one `request_timeout_s` in all, retries included: it runs after the deadline.
        """
        timeout_s = self.settings.request_timeout_s
        try:
            async with asyncio.timeout(timeout_s), self._client() as client:
                return await _pause(client, handle)
        except TimeoutError:
            return f"could not pause it (no answer within {timeout_s:g} s)"
        except OpenHandsError as exc:
            return f"could not pause it ({exc})"

    # -- steps ---------------------------------------------------------------------------------------

    def _client(self) -> AgentServerClient:
        return AgentServerClient(self.settings, self._log)

    def _conversation_request(
        self, task: GenerationTask, conversation_id: uuid.UUID, workspace: str
    ) -> dict[str, Any]:
        settings = self.settings
        llm: dict[str, Any] = {"model": settings.llm_model, "usage_id": "agent"}
        if settings.llm_api_key and settings.llm_api_key.strip():
            llm["api_key"] = settings.llm_api_key.strip()
        if settings.llm_base_url:
            llm["base_url"] = settings.llm_base_url
        return {
            "conversation_id": str(conversation_id),
            "workspace": {"working_dir": workspace},
            "agent": {"kind": "Agent", "llm": llm, "tools": [{"name": "terminal"}, {"name": "file_editor"}]},
            "initial_message": {
                "role": "user",
                "content": [{"type": "text", "text": _prompt(task, workspace)}],
                "run": True,
            },
            "max_iterations": settings.max_iterations,
            "tags": {_TASK_TAG: task.task_id[:256], _TESTS_TAG: task.tests_path},
        }

    async def _upload_tree(self, client: AgentServerClient, source: Path, workspace: str) -> None:
        limit = asyncio.Semaphore(_UPLOAD_CONCURRENCY)

        async def upload(path: Path) -> None:
            relative = path.relative_to(source).as_posix()
            async with limit:
                await client.call(
                    "POST",
                    "/api/file/upload",
                    params={"path": f"{workspace}/{relative}"},
                    files={"file": (path.name, path.read_bytes())},
                )

        await _all([upload(path) for path in _files_to_upload(source)])

    async def _git_baseline(self, client: AgentServerClient, workspace: str) -> None:
        """Commit the uploaded workspace, so git tells apart what the agent changed."""
        response = await client.call(
            "POST",
            "/api/bash/execute_bash_command",
            json={
                "command": _GIT_BASELINE,
                "cwd": workspace,
                "timeout": int(self.settings.request_timeout_s),
            },
        )
        output = parse(BashOutput, response)
        if output.exit_code != 0:
            # Redacted before it is cut, so no key is cut in half at the edge and let through.
            tail = client.redact((output.stderr or output.stdout or "").strip())[-MAX_DETAIL_CHARS:]
            raise OpenHandsError(
                f"could not make the workspace a git repository (exit {output.exit_code}): {tail}"
            )

    async def _status(
        self, client: AgentServerClient, handle: TaskHandle, conversation: Conversation | None
    ) -> TaskStatus:
        if conversation is None:
            return TaskStatus(task_id=handle.task_id, state=TaskState.FAILED, detail="conversation not found")
        cost_usd, prompt_tokens, completion_tokens = conversation.usage()

        def status(state: TaskState, detail: str) -> TaskStatus:
            return TaskStatus(
                task_id=handle.task_id,
                state=state,
                detail=clip(client.redact(detail)),
                cost_usd=cost_usd,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                link=f"{self.settings.display_url}/api/conversations/{handle.backend_id}",
            )

        execution_status = conversation.execution_status
        try:
            if execution_status == "finished":
                last = await _last_event(client, handle.backend_id, source="agent")
                if last and last.kind == "ActionEvent" and last.action and last.action.kind == "FinishAction":
                    return status(TaskState.SUCCEEDED, "finished")
                return status(TaskState.FAILED, "ended without FinishAction")
            if execution_status == "error":
                error = await _last_event(client, handle.backend_id, kind="ConversationErrorEvent")
                return status(TaskState.FAILED, f"{error.code}: {error.detail}" if error else "error")
        except OpenHandsHTTPError as exc:
            if exc.status != 404:
                raise
            return status(TaskState.FAILED, "conversation not found")
        if execution_status in _STATUS_FAILURES:
            return status(TaskState.FAILED, _STATUS_FAILURES[execution_status])
        if execution_status not in ("idle", "running", "paused"):
            return status(TaskState.FAILED, f"unknown execution_status {execution_status!r}")
        timeout_s = self.settings.timeout_s
        if time.time() > handle.submitted_at + timeout_s:
            paused = await _pause(client, handle)
            return status(TaskState.FAILED, f"deadline: not done {timeout_s:g} s after submission; {paused}")
        return status(TaskState.RUNNING, execution_status)


async def _pause(client: AgentServerClient, handle: TaskHandle) -> str:
    """Stop a run past its deadline from spending more, as far as the server lets us."""
    try:
        await client.call("POST", f"/api/conversations/{handle.backend_id}/pause")
    except OpenHandsError as exc:
        return f"could not pause it ({exc})"
    return "paused it"


async def _last_event(
    client: AgentServerClient, conversation_id: str, *, source: str | None = None, kind: str | None = None
) -> Event | None:
    params = {"limit": "1", "sort_order": "TIMESTAMP_DESC"}
    if source:
        params["source"] = source
    if kind:
        params["kind"] = kind
    response = await client.call("GET", f"/api/conversations/{conversation_id}/events/search", params=params)
    page = parse(EventPage, response)
    return page.items[0] if page.items else None


async def _download_text(client: AgentServerClient, path: str, limit: int) -> tuple[str | None, str | None]:
    """The file's text, or None and why it is refused; never more than `limit` bytes are read."""
    try:
        response = await client.call("GET", "/api/file/download", params={"path": path}, max_bytes=limit)
    except OpenHandsResponseTooLarge:
        if limit < _MAX_FILE_BYTES:
            return None, f"over the limit of {_MAX_TASK_BYTES} bytes per task"
        return None, f"larger than {_MAX_FILE_BYTES} bytes"
    try:
        return response.content.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "not UTF-8 text"


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


def _change_rejection(change: Change, tests_path: str) -> str | None:
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
