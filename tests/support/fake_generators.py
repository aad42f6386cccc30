"""Test generators that speak the protocol without a backend, each with a scripted behaviour.

`ScriptedGenerator` records every call in order, so tests can check how the runner drives a backend:
when it submits, what it polls together, what it collects. Faults are injected per method. Each fake is
also its own resource (`get_generator` returns itself), so a test can hand it to `generated_tests`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from spec2prod_assets.generation.protocol import (
    GeneratedFile,
    GeneratedFiles,
    GenerationTask,
    GeneratorError,
    RejectedPath,
    TaskHandle,
    TaskState,
    TaskStatus,
)

Call = tuple[str, tuple[str, ...]]


@dataclass
class Script:
    """How one task behaves: terminal after `polls_to_finish` polls, in `final_state`, with these files."""

    polls_to_finish: int = 1
    final_state: TaskState = TaskState.SUCCEEDED
    files: tuple[GeneratedFile, ...] = ()
    rejected: tuple[RejectedPath, ...] = ()
    cost_usd: float = 0.0
    tokens: int = 0
    collect_error: str | None = None


@dataclass
class ScriptedGenerator:
    """A protocol-conforming generator whose tasks follow `scripts` (default: succeed, no files)."""

    scripts: Mapping[str, Script] = field(default_factory=dict)
    default_script: Script = field(default_factory=Script)
    name: str = "scripted"
    submit_error: str | None = None
    poll_error: str | None = None
    submit_delay_s: float = 0.0
    calls: list[Call] = field(default_factory=list)
    _polls: dict[str, int] = field(default_factory=dict)

    @property
    def generator_name(self) -> str:
        return self.name

    def get_generator(self) -> ScriptedGenerator:
        return self

    def _script(self, task_id: str) -> Script:
        return self.scripts.get(task_id, self.default_script)

    async def submit(self, task: GenerationTask) -> TaskHandle:
        self.calls.append(("submit", (task.task_id,)))
        if self.submit_delay_s:
            await asyncio.sleep(self.submit_delay_s)
        if self.submit_error is not None:
            raise GeneratorError(self.submit_error)
        self._polls[task.task_id] = 0
        return TaskHandle(task_id=task.task_id, backend_id=f"fake-{task.task_id}", submitted_at=time.time())

    async def poll(self, handles: Sequence[TaskHandle]) -> list[TaskStatus]:
        self.calls.append(("poll", tuple(h.task_id for h in handles)))
        if self.poll_error is not None:
            raise GeneratorError(self.poll_error)
        statuses = []
        for handle in handles:
            self._polls[handle.task_id] += 1
            script = self._script(handle.task_id)
            done = self._polls[handle.task_id] >= script.polls_to_finish
            statuses.append(
                TaskStatus(
                    task_id=handle.task_id,
                    state=script.final_state if done else TaskState.RUNNING,
                    detail="scripted failure" if done and script.final_state is TaskState.FAILED else "",
                    cost_usd=script.cost_usd if done else 0.0,
                    prompt_tokens=script.tokens if done else 0,
                )
            )
        return statuses

    async def collect(self, handle: TaskHandle) -> GeneratedFiles:
        self.calls.append(("collect", (handle.task_id,)))
        script = self._script(handle.task_id)
        if script.collect_error is not None:
            raise GeneratorError(script.collect_error)
        return GeneratedFiles(task_id=handle.task_id, files=script.files, rejected=script.rejected)

    async def cancel(self, handle: TaskHandle) -> str:
        self.calls.append(("cancel", (handle.task_id,)))
        return "cancelled"


class NeverFinishingGenerator(ScriptedGenerator):
    """Accepts every task and reports it running forever: only the runner's deadline ends the wait."""

    async def poll(self, handles: Sequence[TaskHandle]) -> list[TaskStatus]:
        self.calls.append(("poll", tuple(h.task_id for h in handles)))
        return [TaskStatus(task_id=h.task_id, state=TaskState.RUNNING) for h in handles]


class CrashingGenerator(ScriptedGenerator):
    """A backend that is down: every submit fails."""

    def __init__(self) -> None:
        super().__init__(name="crashing", submit_error="backend unreachable: connection refused")


@dataclass
class OneFileGenerator(ScriptedGenerator):
    """Answers every task with the same single test file, written for the task's tests folder.

    `escaping_path`, if set, is returned as well: a path the runner must refuse.
    """

    file_name: str = "test_generated.py"
    content: str = ""
    escaping_path: str | None = None
    _tasks: dict[str, GenerationTask] = field(default_factory=dict)

    async def submit(self, task: GenerationTask) -> TaskHandle:
        self._tasks[task.task_id] = task
        return await super().submit(task)

    def submitted_tasks(self) -> list[GenerationTask]:
        return list(self._tasks.values())

    async def collect(self, handle: TaskHandle) -> GeneratedFiles:
        self.calls.append(("collect", (handle.task_id,)))
        task = self._tasks[handle.task_id]
        files = [GeneratedFile(path=f"{task.tests_path}/{self.file_name}", content=self.content)]
        if self.escaping_path is not None:
            files.append(GeneratedFile(path=self.escaping_path, content=self.content))
        return GeneratedFiles(task_id=handle.task_id, files=tuple(files))


class SlowToCancelGenerator(NeverFinishingGenerator):
    """Never finishes, and its `cancel` takes `cancel_s` (a server that does not answer the pause)."""

    def __init__(self, cancel_s: float) -> None:
        super().__init__(name="slow-to-cancel")
        self.cancel_s = cancel_s

    async def cancel(self, handle: TaskHandle) -> str:
        self.calls.append(("cancel", (handle.task_id,)))
        await asyncio.sleep(self.cancel_s)
        return "cancelled"
