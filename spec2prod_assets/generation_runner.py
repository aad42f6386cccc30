"""Drive any test generator: submit every task, poll them together, collect what finished.

Submitting returns at once, so all tasks run at the same time on the backend; polling asks about
all of them in one call per interval. A generator that fails, hangs past the deadline or is down
never fails the run: the outcome says why no tests came back and the pipeline goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from spec2prod_assets.generation_protocol import (
    GeneratedFiles,
    GenerationTask,
    RejectedPath,
    TaskHandle,
    TaskState,
    TaskStatus,
    TestGenerator,
    rejection_reason,
)
from spec2prod_assets.validation_funnel import FunnelResult


class GenerationOutcome(BaseModel):
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

    @property
    def cost_usd(self) -> float:
        return round(sum(s.cost_usd for s in self.statuses), 6)

    @property
    def tokens(self) -> int:
        return sum(s.prompt_tokens + s.completion_tokens for s in self.statuses)


class GeneratedTests(BaseModel):
    """The `generated_tests` asset's value: what the generator returned and what the funnel kept."""

    model_config = ConfigDict(frozen=True)

    outcome: GenerationOutcome
    funnel: FunnelResult


async def generate(
    generator: TestGenerator,
    tasks: Sequence[GenerationTask],
    *,
    poll_interval_s: float,
    deadline_s: float,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> GenerationOutcome:
    """Submit all `tasks`, poll until each is done or `deadline_s` passes, collect the successes."""
    name = generator.generator_name
    started = time.perf_counter()
    handles: list[TaskHandle] = []
    try:
        handles = list(await asyncio.gather(*(generator.submit(task) for task in tasks)))
    except Exception as exc:  # any backend failure degrades the stage; it must not fail the run
        log.warning("Test generation unavailable (%s): %s", name, exc)
        return _degraded(name, len(tasks), handles, time.perf_counter() - started, f"submit failed: {exc}")
    submission_s = time.perf_counter() - started
    log.info("Submitted %d tasks to %s in %.2fs", len(handles), name, submission_s)

    statuses: dict[str, TaskStatus] = {}
    deadline = time.monotonic() + deadline_s
    try:
        while True:
            pending = [h for h in handles if not _done(statuses.get(h.task_id))]
            if not pending:
                break
            if time.monotonic() >= deadline:
                for handle in pending:
                    statuses[handle.task_id] = TaskStatus(
                        task_id=handle.task_id,
                        state=TaskState.FAILED,
                        detail=f"deadline: not done after {deadline_s:.0f}s",
                    )
                log.warning(
                    "%d of %d tasks missed the %.0fs deadline", len(pending), len(handles), deadline_s
                )
                break
            for status in await generator.poll(pending):
                statuses[status.task_id] = status
            done = sum(_done(statuses.get(h.task_id)) for h in handles)
            log.info("%d of %d tasks done", done, len(handles))
            if done < len(handles):
                await asyncio.sleep(min(poll_interval_s, max(0.0, deadline - time.monotonic())))
    except Exception as exc:
        log.warning("Polling %s failed: %s", name, exc)
        return _degraded(name, len(tasks), handles, submission_s, f"poll failed: {exc}")

    collect_started = time.perf_counter()
    succeeded = [h for h in handles if statuses[h.task_id].state is TaskState.SUCCEEDED]
    files: list[GeneratedFiles] = []
    for handle in succeeded:
        try:
            collected = await generator.collect(handle)
        except Exception as exc:
            log.warning("Collecting %s failed: %s", handle.task_id, exc)
            statuses[handle.task_id] = statuses[handle.task_id].model_copy(
                update={"state": TaskState.FAILED, "detail": f"collect failed: {exc}"}
            )
            continue
        files.append(_enforce_tests_folder(collected, _task_for(tasks, handle)))
    ordered = tuple(statuses[h.task_id] for h in handles)
    failures = [s for s in ordered if s.state is not TaskState.SUCCEEDED]
    return GenerationOutcome(
        generator=name,
        tasks_submitted=len(handles),
        tasks_succeeded=len(handles) - len(failures),
        statuses=ordered,
        handles=tuple(handles),
        files=tuple(files),
        submission_s=round(submission_s, 3),
        collection_s=round(time.perf_counter() - collect_started, 3),
        degraded_reason=(
            "; ".join(f"{s.task_id}: {s.detail}" for s in failures) if failures and not files else None
        ),
    )


def _done(status: TaskStatus | None) -> bool:
    return status is not None and status.state.is_terminal


def _task_for(tasks: Sequence[GenerationTask], handle: TaskHandle) -> GenerationTask:
    return next(t for t in tasks if t.task_id == handle.task_id)


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
    name: str, submitted: int, handles: list[TaskHandle], submission_s: float, reason: str
) -> GenerationOutcome:
    return GenerationOutcome(
        generator=name,
        tasks_submitted=submitted,
        tasks_succeeded=0,
        statuses=(),
        handles=tuple(handles),
        files=(),
        submission_s=round(submission_s, 3),
        collection_s=0.0,
        degraded_reason=reason,
    )
