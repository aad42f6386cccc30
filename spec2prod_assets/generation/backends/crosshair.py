"""The built-in test generator: `crosshair cover` per module, so the pipeline needs no service.

Each task is one `crosshair cover` run in an asyncio task of its own (`run_command_async`), so `submit`
returns as soon as the process runs, `poll` looks at the task, and `cancel` cancels it, which kills the
process group. The task's deadline is the time budget: a run past it is killed and fails the task.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from spec2prod_assets.generation.protocol import (
    GeneratedFile,
    GeneratedFiles,
    GenerationTask,
    GeneratorError,
    TaskHandle,
    TaskState,
    TaskStatus,
)
from spec2prod_assets.runtime.processes import CommandResult, clean_env, python_tool, run_command_async
from spec2prod_assets.runtime.sandbox import Sandbox

# What `crosshair cover` prints when a module defines no function to cover.
_NOTHING_TO_COVER = "No functions or methods found"


@dataclass(frozen=True)
class _Job:
    """One `crosshair cover` run: the task it serves and the asyncio task that awaits the process."""

    task: GenerationTask
    run: asyncio.Task[CommandResult]


class CrossHairGenerator:
    """Generates pytest tests with CrossHair's symbolic execution, one subprocess per module.

    Runs locally and costs nothing; the tests it writes pin down current behaviour (including the
    exceptions raised), which the validation funnel then checks like any other generated test. Its
    tasks live on the event loop that submitted them: one generator serves one `generate` call.
    """

    def __init__(self, *, per_condition_timeout_s: float, time_budget_s: float) -> None:
        self.per_condition_timeout_s = per_condition_timeout_s
        self.time_budget_s = time_budget_s
        self._jobs: dict[str, _Job] = {}

    @property
    def generator_name(self) -> str:
        return "crosshair"

    async def submit(self, task: GenerationTask) -> TaskHandle:
        """Start `crosshair cover` for the task's module; returns once the process runs."""
        workspace = Path(task.workspace_dir)
        started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        run = asyncio.create_task(
            run_command_async(
                [
                    *python_tool("crosshair", python=task.python),
                    "cover",
                    task.import_name,
                    "--example_output_format=pytest",
                    f"--per_condition_timeout={self.per_condition_timeout_s}",
                ],
                cwd=workspace,
                timeout_s=self.time_budget_s,
                env=clean_env({"PYTHONPATH": str(workspace / task.import_root)}),
                started=started,
                clip_output=False,
                # CrossHair imports and runs the component: untrusted code, so it gets the sandbox
                # with only its own workspace copy writable.
                sandbox=Sandbox(writable=(workspace,), readable=tuple(Path(p) for p in task.readable_roots)),
            )
        )
        try:
            await asyncio.wait((started, run), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # a caller that gave up on submit never gets a handle to cancel
            run.cancel()
            raise
        if not started.done():  # the run ended before its process ran: it could not start
            error = run.exception()
            cause = error.__cause__ if error and error.__cause__ else error
            raise GeneratorError(f"could not start crosshair for {task.import_name}: {cause}") from error
        self._jobs[task.task_id] = _Job(task, run)
        return TaskHandle(task_id=task.task_id, backend_id=str(started.result()), submitted_at=time.time())

    async def poll(self, handles: Sequence[TaskHandle]) -> list[TaskStatus]:
        """Running until the process exits; failed when it was killed at the end of `time_budget_s`."""
        return [self._status(handle) for handle in handles]

    async def collect(self, handle: TaskHandle) -> GeneratedFiles:
        """The pytest file CrossHair printed, placed in the task's tests folder."""
        job = self._job(handle)
        if not job.run.done():
            raise GeneratorError(f"task {handle.task_id} has not finished")
        source = job.run.result().stdout
        if "def test_" not in source:
            return GeneratedFiles(task_id=handle.task_id)
        module = PurePosixPath(job.task.module).stem
        path = f"{job.task.tests_path}/test_{module}_crosshair.py"
        return GeneratedFiles(task_id=handle.task_id, files=(GeneratedFile(path=path, content=source),))

    async def cancel(self, handle: TaskHandle) -> str:
        """Cancel the task's run, which kills its process group. Never raises."""
        job = self._jobs.pop(handle.task_id, None)
        if job is None:
            return "unknown task"
        job.run.cancel()
        await asyncio.wait((job.run,))
        return "stopped crosshair"

    def _status(self, handle: TaskHandle) -> TaskStatus:
        job = self._jobs.get(handle.task_id)
        if job is None:
            return TaskStatus(task_id=handle.task_id, state=TaskState.FAILED, detail="unknown task")
        if not job.run.done():
            return TaskStatus(task_id=handle.task_id, state=TaskState.RUNNING)
        result = job.run.result()
        if result.timed_out:
            return TaskStatus(
                task_id=handle.task_id,
                state=TaskState.FAILED,
                detail=f"crosshair exceeded its {self.time_budget_s:g}s budget and was stopped",
            )
        if result.exit_code != 0:
            if _NOTHING_TO_COVER in result.stderr:
                # A module of constants or re-exports: nothing to test is a result, not a failure.
                return TaskStatus(task_id=handle.task_id, state=TaskState.SUCCEEDED, detail="no functions")
            tail = "\n".join(result.stderr.strip().splitlines()[-5:])
            return TaskStatus(
                task_id=handle.task_id,
                state=TaskState.FAILED,
                detail=f"crosshair exited with {result.exit_code}: {tail}",
            )
        return TaskStatus(task_id=handle.task_id, state=TaskState.SUCCEEDED)

    def _job(self, handle: TaskHandle) -> _Job:
        job = self._jobs.get(handle.task_id)
        if job is None:
            raise GeneratorError(f"task {handle.task_id} was not submitted by this generator")
        return job
