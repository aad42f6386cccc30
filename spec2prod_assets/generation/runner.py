"""Drive any test generator: submit every task, poll them together, collect what finished.

Submitting returns at once, so all tasks run at the same time on the backend; polling asks about
all of them in one call per interval. A generator that fails, hangs past the deadline or is down
never fails the run: the result says why no tests came back and the pipeline goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from spec2prod_assets.generation.funnel import FunnelResult
from spec2prod_assets.generation.protocol import (
    GeneratedFiles,
    GenerationTask,
    RejectedPath,
    TaskHandle,
    TaskState,
    TaskStatus,
    TestGenerator,
    rejection_reason,
)
from spec2prod_assets.generation.task_cache import TaskCache, cached_status
from spec2prod_assets.mutation import MutationReport

_T = TypeVar("_T")
Log = logging.Logger | logging.LoggerAdapter[logging.Logger]
# How long a cancelled call gets to clean up before the runner stops waiting for it.
_CLEANUP_GRACE_S = 1.0


class GenerationResult(BaseModel):
    """What came back from the generator, and how long each phase took."""

    model_config = ConfigDict(frozen=True)

    generator: str
    tasks_submitted: int
    tasks_succeeded: int
    statuses: tuple[TaskStatus, ...]
    handles: tuple[TaskHandle, ...]
    files: tuple[GeneratedFiles, ...]
    submission_s: float
    collection_s: float
    degraded_reason: str | None = None
    cache_hits: int = 0
    """Tasks answered from the task cache: not submitted, not counted in `tasks_submitted`, cost 0."""

    @property
    def cost_usd(self) -> float:
        return round(sum(s.cost_usd for s in self.statuses), 6)

    @property
    def tokens(self) -> int:
        return sum(s.prompt_tokens + s.completion_tokens for s in self.statuses)


class GeneratedTests(BaseModel):
    """The `generated_tests` asset's value: what the generator returned and what the funnel kept."""

    model_config = ConfigDict(frozen=True)

    outcome: GenerationResult  # the stored field keeps its name; pipeline/metadata.py reads it
    funnel: FunnelResult
    funnel_cached: bool = False  # the funnel's verdict was an earlier run's on identical inputs
    baseline_mutation: MutationReport | None = None
    """The component's own tests against its mutants, measured before generation; its survivors were
    the generator's and the funnel's targets."""
    baseline_mutation_note: str = ""
    """Why `baseline_mutation` is None."""


async def generate(
    generator: TestGenerator,
    tasks: Sequence[GenerationTask],
    *,
    poll_interval_s: float,
    deadline_s: float,
    log: Log,
    cancel_timeout_s: float = 10.0,
    cache: TaskCache | None = None,
) -> GenerationResult:
    """Submit all `tasks`, poll until each is done or `deadline_s` passes, collect the successes.

    The deadline bounds every call to the backend too, so a backend that hangs mid-request cannot
    hold the run: whatever is not done by then is cancelled and reported. The cancels run together,
    each bounded by `cancel_timeout_s`, so the call returns by the deadline plus that limit.

    With a `cache`, a task identical to one that succeeded before is not submitted: its earlier files
    come back with a status that says so (`cache_hits`), and every task that succeeds now is stored.
    """
    if cache is None:
        return await _generate_fresh(generator, tasks, poll_interval_s, deadline_s, log, cancel_timeout_s)
    keys = _task_keys(cache, generator, tasks, log)
    hits: dict[str, GeneratedFiles] = {}
    for task in tasks:
        key = keys.get(task.task_id)
        found = cache.lookup(key, task) if key is not None else None
        if found is not None:
            hits[task.task_id] = _enforce_tests_folder(found, task)
    if hits:
        log.info("%d of %d tasks reused from the cache: not submitted", len(hits), len(tasks))
    misses = [t for t in tasks if t.task_id not in hits]
    fresh = await _generate_fresh(generator, misses, poll_interval_s, deadline_s, log, cancel_timeout_s)
    succeeded = {s.task_id for s in fresh.statuses if s.state is TaskState.SUCCEEDED}
    for collected in fresh.files:
        key = keys.get(collected.task_id)
        if key is not None and collected.task_id in succeeded:
            cache.store_result(key, _task_by_id(misses, collected.task_id), generator, collected)
    return _with_hits(fresh, tasks, hits, keys)


async def _generate_fresh(
    generator: TestGenerator,
    tasks: Sequence[GenerationTask],
    poll_interval_s: float,
    deadline_s: float,
    log: Log,
    cancel_timeout_s: float,
) -> GenerationResult:
    """`generate` without a cache: every task goes to the generator."""
    name = generator.generator_name
    deadline = time.monotonic() + deadline_s
    started = time.perf_counter()
    statuses: dict[str, TaskStatus] = {}
    submitted = await _bounded(
        asyncio.gather(*(generator.submit(task) for task in tasks), return_exceptions=True), deadline
    )
    if isinstance(submitted, BaseException):
        log.warning("Test generation unavailable (%s): %s", name, submitted)
        return _degraded(name, time.perf_counter() - started, f"submit failed: {_describe(submitted)}")
    handles: list[TaskHandle] = []
    for task, result in zip(tasks, submitted, strict=True):
        if isinstance(result, TaskHandle):
            handles.append(result)
        else:
            statuses[task.task_id] = _failed(task.task_id, f"submit failed: {_describe(result)}")
    submission_s = time.perf_counter() - started
    if not handles and tasks:
        reasons = "; ".join(s.detail for s in statuses.values())
        log.warning("Test generation unavailable (%s): %s", name, reasons)
        return _degraded(name, submission_s, reasons, statuses=tuple(statuses.values()))
    log.info("Submitted %d tasks to %s in %.2fs", len(handles), name, submission_s)

    poll_error = await _poll_until_done(generator, handles, statuses, poll_interval_s, deadline, log)
    pending = [h for h in handles if not _done(statuses.get(h.task_id))]
    cancelled = await _cancel_all(generator, pending, cancel_timeout_s)
    if poll_error is not None:
        return _degraded(name, submission_s, f"poll failed: {poll_error}", handles=tuple(handles))

    collect_started = time.perf_counter()
    files: list[GeneratedFiles] = []
    if pending:
        for handle in pending:
            statuses[handle.task_id] = _failed(
                handle.task_id, f"deadline: not done after {deadline_s:g}s ({cancelled[handle.task_id]})"
            )
        log.warning("%d of %d tasks missed the %gs deadline", len(pending), len(handles), deadline_s)
    for handle in handles:
        if statuses[handle.task_id].state is not TaskState.SUCCEEDED:
            continue
        collected = await _bounded(generator.collect(handle), deadline)
        if isinstance(collected, BaseException):
            log.warning("Collecting %s failed: %s", handle.task_id, collected)
            statuses[handle.task_id] = _failed(handle.task_id, f"collect failed: {_describe(collected)}")
            continue
        files.append(_enforce_tests_folder(collected, _task_for(tasks, handle)))
    ordered = tuple(statuses[t.task_id] for t in tasks)
    failures = [s for s in ordered if s.state is not TaskState.SUCCEEDED]
    return GenerationResult(
        generator=name,
        tasks_submitted=len(handles),
        tasks_succeeded=len(ordered) - len(failures),
        statuses=ordered,
        handles=tuple(handles),
        files=tuple(files),
        submission_s=round(submission_s, 3),
        collection_s=round(time.perf_counter() - collect_started, 3),
        degraded_reason=(
            "; ".join(f"{s.task_id}: {s.detail}" for s in failures) if failures and not files else None
        ),
    )


async def _poll_until_done(
    generator: TestGenerator,
    handles: list[TaskHandle],
    statuses: dict[str, TaskStatus],
    poll_interval_s: float,
    deadline: float,
    log: Log,
) -> str | None:
    """Poll all pending handles in one call per interval until the deadline; None, or why polling
    broke down. What is still pending on return is for the caller to cancel."""
    while pending := [h for h in handles if not _done(statuses.get(h.task_id))]:
        if time.monotonic() >= deadline:
            return None
        polled = await _bounded(generator.poll(pending), deadline)
        if isinstance(polled, TimeoutError):
            continue  # the deadline passed during the call: the loop marks what is pending
        if isinstance(polled, BaseException):
            log.warning("Polling %s failed: %s", generator.generator_name, polled)
            return _describe(polled)
        for status in polled:
            statuses[status.task_id] = status
        done = sum(_done(statuses.get(h.task_id)) for h in handles)
        log.info("%d of %d tasks done", done, len(handles))
        if done < len(handles):
            await asyncio.sleep(max(0.0, min(poll_interval_s, deadline - time.monotonic())))
    return None


async def _bounded(call: Awaitable[_T], deadline: float) -> _T | BaseException:
    """The call's result, or the exception it raised (TimeoutError once the deadline passes)."""
    return await _within(call, deadline - time.monotonic())


async def _within(call: Awaitable[_T], timeout_s: float) -> _T | BaseException:
    """The call's result or exception, or TimeoutError after `timeout_s` of wall-clock time.

    A call past its time is cancelled and given `_CLEANUP_GRACE_S` to clean up, but never waited for
    beyond that (`asyncio.wait_for` would wait as long as the call ignores its cancellation).
    """
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=max(0.0, timeout_s))
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=_CLEANUP_GRACE_S)
        return TimeoutError(f"no answer within {timeout_s:g}s")
    try:
        return task.result()
    except Exception as exc:  # any backend failure degrades the stage; it must not fail the run
        return exc


async def _cancel_all(
    generator: TestGenerator, handles: Sequence[TaskHandle], timeout_s: float
) -> dict[str, str]:
    """Cancel `handles` together, each within `timeout_s`; what happened to each, by task id."""
    results = await asyncio.gather(*(_within(generator.cancel(h), timeout_s) for h in handles))
    said: dict[str, str] = {}
    for handle, result in zip(handles, results, strict=True):
        if isinstance(result, TimeoutError):
            said[handle.task_id] = f"cancel did not finish within {timeout_s:g}s"
        elif isinstance(result, BaseException):
            said[handle.task_id] = f"cancel failed: {_describe(result)}"
        else:
            said[handle.task_id] = result
    return said


def _failed(task_id: str, detail: str) -> TaskStatus:
    return TaskStatus(task_id=task_id, state=TaskState.FAILED, detail=detail)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _done(status: TaskStatus | None) -> bool:
    return status is not None and status.state.is_terminal


def _task_for(tasks: Sequence[GenerationTask], handle: TaskHandle) -> GenerationTask:
    return _task_by_id(tasks, handle.task_id)


def _task_by_id(tasks: Sequence[GenerationTask], task_id: str) -> GenerationTask:
    return next(t for t in tasks if t.task_id == task_id)


def _task_keys(
    cache: TaskCache, generator: TestGenerator, tasks: Sequence[GenerationTask], log: Log
) -> dict[str, str]:
    """Each task's cache key, read before anything is submitted (a generator may write its workspace).
    A task whose inputs cannot be read has no key: it runs and is not stored."""
    keys = {}
    for task in tasks:
        try:
            keys[task.task_id] = cache.key(generator, task)
        except OSError as exc:
            log.warning("Task %s cannot be cached (%s); it runs", task.task_id, exc)
    return keys


def _with_hits(
    fresh: GenerationResult,
    tasks: Sequence[GenerationTask],
    hits: dict[str, GeneratedFiles],
    keys: dict[str, str],
) -> GenerationResult:
    """The fresh result with the cache hits merged in, statuses and files in task order."""
    if not hits:
        return fresh
    statuses = {s.task_id: s for s in fresh.statuses}
    statuses.update({task_id: cached_status(task_id, keys[task_id]) for task_id in hits})
    files = {f.task_id: f for f in fresh.files} | hits
    return fresh.model_copy(
        update={
            "tasks_succeeded": fresh.tasks_succeeded + len(hits),
            "statuses": tuple(statuses[t.task_id] for t in tasks if t.task_id in statuses),
            "files": tuple(files[t.task_id] for t in tasks if t.task_id in files),
            "cache_hits": len(hits),
        }
    )


def _enforce_tests_folder(collected: GeneratedFiles, task: GenerationTask) -> GeneratedFiles:
    """Whatever a backend already checked, no path outside the tests folder passes this point."""
    kept, rejected = [], list(collected.rejected)
    for generated in collected.files:
        reason = rejection_reason(generated.path, task.tests_path)
        if reason is None:
            kept.append(generated)
        else:
            rejected.append(RejectedPath(path=generated.path, reason=reason))
    return GeneratedFiles(task_id=collected.task_id, files=tuple(kept), rejected=tuple(rejected))


def _degraded(
    name: str,
    submission_s: float,
    reason: str,
    *,
    handles: tuple[TaskHandle, ...] = (),
    statuses: tuple[TaskStatus, ...] = (),
) -> GenerationResult:
    return GenerationResult(
        generator=name,
        tasks_submitted=len(handles),
        tasks_succeeded=0,
        statuses=statuses,
        handles=handles,
        files=(),
        submission_s=round(submission_s, 3),
        collection_s=0.0,
        degraded_reason=reason,
    )
