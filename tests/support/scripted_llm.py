"""An OpenAI-compatible chat server on loopback that plays the model with scripted tool calls.

No LLM is reachable from CI, yet the real OpenHands agent loop must run end to end. This server stands in
for the model: the agent server sends it the conversation, it answers with the next tool call of the
script the task asked for, and the real `terminal` and `file_editor` tools do the work.

A task picks its script with a marker in its instructions (`script_marker("success")`). Replies are
stateless: the step is the number of assistant turns already in the conversation, so a retried request
gets the same answer. The first step of every script is `mkdir -p <tests dir> && pwd`: the agent server
runs the terminal in the workspace, so the tool's output tells the script the absolute path that
`file_editor` needs.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.fake_openhands import LoopbackServer

# A model litellm has a price for, so the agent server computes a real cost from `usage`.
PRICED_MODEL = "openai/gpt-4o"
PROMPT_TOKENS_PER_CALL = 1000
COMPLETION_TOKENS_PER_CALL = 100

_MARKER = re.compile(r"\[scripted-llm:([a-z0-9_-]+)\]")
_ABSOLUTE_PATH_LINE = re.compile(r"^(/[^\s]*)\s*$", re.MULTILINE)


def script_marker(name: str) -> str:
    """The text to put in a task's instructions so the scripted model plays script `name`."""
    return f"[scripted-llm:{name}]"


@dataclass(frozen=True)
class ToolCall:
    """One tool call; in its arguments `{workspace}` becomes the absolute workspace, `{step}` the step."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A plain-text answer with no tool call: the agent treats it as its last word."""

    text: str


@dataclass(frozen=True)
class Script:
    steps: tuple[ToolCall | Reply, ...]
    repeat_last: bool = False


def locate_workspace(tests_dir: str) -> ToolCall:
    """The first step of every script: make the tests folder and learn the workspace's path."""
    return ToolCall("terminal", {"command": f"mkdir -p {tests_dir} && pwd"})


def run(command: str) -> ToolCall:
    return ToolCall("terminal", {"command": command})


def create_file(relative_path: str, content: str) -> ToolCall:
    """`file_editor create` needs an absolute path; `relative_path` is relative to the workspace."""
    return ToolCall(
        "file_editor",
        {"command": "create", "path": "{workspace}/" + relative_path, "file_text": content},
    )


def finish(message: str = "Done.") -> ToolCall:
    return ToolCall("finish", {"message": message})


def endless_script() -> Script:
    """Never finish: the agent runs until it reaches `max_iterations`.

    Each command differs (`{step}`), so the agent's stuck detector, which looks for repeated identical
    actions, does not end the run first.
    """
    return Script((run("echo still working {step}"),), repeat_last=True)


@dataclass
class ScriptedLLM:
    """The running server; `scripts` maps a marker name to its script and may change between tests."""

    base_url: str
    scripts: dict[str, Script] = field(default_factory=dict)
    # The Authorization headers the agent server sent: proof that the configured LLM key reached the model.
    authorizations: set[str] = field(default_factory=set)

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        messages: list[dict[str, Any]] = body.get("messages") or []
        if not body.get("tools"):
            # A call without tools asks for a conversation title.
            return _completion(Reply("Unit tests for a module"))
        name = _script_name(messages)
        script = self.scripts.get(name) if name else None
        if script is None:
            return _completion(Reply(f"No script named {name!r}."))
        step = sum(1 for message in messages if message.get("role") == "assistant")
        if step >= len(script.steps) and not script.repeat_last:
            return _completion(Reply("Nothing left to do."))
        return _completion(
            script.steps[min(step, len(script.steps) - 1)], step_index=step, workspace=_workspace(messages)
        )


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _script_name(messages: list[dict[str, Any]]) -> str | None:
    for message in messages:
        if message.get("role") == "user" and (found := _MARKER.search(_text_of(message))):
            return found.group(1)
    return None


def _workspace(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "tool" and (found := _ABSOLUTE_PATH_LINE.search(_text_of(message))):
            return found.group(1)
    return "/nonexistent-workspace"


def _completion(step: ToolCall | Reply, *, step_index: int = 0, workspace: str = "") -> dict[str, Any]:
    if isinstance(step, Reply):
        message: dict[str, Any] = {"role": "assistant", "content": step.text}
        finish_reason = "stop"
    else:
        arguments = {
            key: value.replace("{workspace}", workspace).replace("{step}", str(step_index))
            if isinstance(value, str)
            else value
            for key, value in step.arguments.items()
        }
        call = {
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {"name": step.name, "arguments": json.dumps(arguments)},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish_reason = "tool_calls"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": PRICED_MODEL.split("/", 1)[1],
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS_PER_CALL,
            "completion_tokens": COMPLETION_TOKENS_PER_CALL,
            "total_tokens": PROMPT_TOKENS_PER_CALL + COMPLETION_TOKENS_PER_CALL,
        },
    }


@contextmanager
def running_scripted_llm() -> Iterator[ScriptedLLM]:
    """Serve the scripted model on a free loopback port; `base_url` ends in `/v1` as litellm expects."""
    holder: list[ScriptedLLM] = []

    async def chat_completions(request: Request) -> JSONResponse:
        body = await request.json()
        holder[0].authorizations.add(request.headers.get("authorization", ""))
        if body.get("stream"):
            return JSONResponse({"error": {"message": "streaming is not scripted"}}, status_code=400)
        return JSONResponse(holder[0].answer(body))

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/chat/completions", chat_completions, methods=["POST"]),
        ]
    )
    with LoopbackServer(app) as server:
        holder.append(ScriptedLLM(base_url=f"{server.url}/v1"))
        yield holder[0]
