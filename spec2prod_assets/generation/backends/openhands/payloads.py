"""Typed payloads of the Agent Server API: the only place raw API JSON is read. Unknown fields are ignored.

Converters turn a response into these models or raise `OpenHandsProtocolError` naming what is wrong,
without quoting the input (a server may echo secrets back).
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spec2prod_assets.generation.backends.openhands.errors import OpenHandsProtocolError


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TokenUsage(_Payload):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Metrics(_Payload):
    accumulated_cost: float = 0.0
    accumulated_token_usage: TokenUsage | None = None


class Stats(_Payload):
    usage_to_metrics: dict[str, Metrics] = Field(default_factory=dict)


class Workspace(_Payload):
    working_dir: str


class Conversation(_Payload):
    id: uuid.UUID
    execution_status: str
    workspace: Workspace
    tags: dict[str, str] = Field(default_factory=dict)
    metrics: Metrics | None = None
    stats: Stats = Field(default_factory=Stats)

    def usage(self) -> tuple[float, int, int]:
        """Cost and tokens summed over the conversation's LLMs (`stats`), else the top-level `metrics`.

        The agent server reports per-LLM figures in `stats.usage_to_metrics` (1.58.0 leaves `metrics`
        null); adding both would count twice where a server fills both.
        """
        per_llm = list(self.stats.usage_to_metrics.values())
        metrics = per_llm or ([self.metrics] if self.metrics else [])
        usages = [m.accumulated_token_usage for m in metrics if m.accumulated_token_usage]
        return (
            sum(m.accumulated_cost for m in metrics),
            sum(u.prompt_tokens for u in usages),
            sum(u.completion_tokens for u in usages),
        )


class Action(_Payload):
    kind: str = ""


class Event(_Payload):
    kind: str
    source: str | None = None
    action: Action | None = None
    code: str | None = None
    detail: str | None = None


class EventPage(_Payload):
    items: list[Event]


class Change(_Payload):
    status: str
    path: str


class BashOutput(_Payload):
    exit_code: int | None = None
    stdout: str | None = None
    stderr: str | None = None


PayloadT = TypeVar("PayloadT", bound=BaseModel)


def parse(model: type[PayloadT], response: httpx.Response) -> PayloadT:
    return _validate(model, _json(response), response)


def parse_list(model: type[PayloadT], response: httpx.Response) -> list[PayloadT]:
    data = _json(response)
    if not isinstance(data, list):
        raise OpenHandsProtocolError(f"expected a list from {response.request.url.path}")
    return [_validate(model, item, response) for item in data]


def parse_batch(response: httpx.Response, expected: int) -> list[Conversation | None]:
    """A batch answer: one conversation per id asked for, null for an id the server does not know."""
    data = _json(response)
    if not isinstance(data, list) or len(data) != expected:
        raise OpenHandsProtocolError(f"expected a list of {expected} conversations (or nulls)")
    return [None if item is None else _validate(Conversation, item, response) for item in data]


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        request = response.request
        raise OpenHandsProtocolError(f"malformed JSON from {request.method} {request.url.path}") from None


def _validate(model: type[PayloadT], data: Any, response: httpx.Response) -> PayloadT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Locations and messages only: pydantic's default text quotes the input values.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise OpenHandsProtocolError(
            f"unexpected {model.__name__} from {response.request.url.path}: {problems}"
        ) from None
