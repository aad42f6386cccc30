"""The built-in test generator: `crosshair cover` per module, so the pipeline needs no service.

Each task is one `crosshair cover` run in an asyncio task of its own (`run_command_async`), so `submit`
returns at once, `poll` looks at the task, and `cancel` cancels it, which kills the process group.
CrossHair is CPU-bound: more runs at once than there are cores only slows every one down, so at most
`max_parallel` run together and the rest wait their turn in submit order (they poll as running,
queued). Each run's time budget comes from its module's size and what is left of the generator's
deadline for the whole run (`crosshair_budget`); a run past its budget is killed and fails the task,
saying why the budget was that size.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from spec2prod_assets.generation.backends.crosshair_budget import (
    BudgetPolicy,
    TaskBudget,
    code_lines,
    task_budget,
)
from spec2prod_assets.generation.protocol import (
    GeneratedFile,
    GeneratedFiles,
    GenerationTask,
    GeneratorError,
    TaskHandle,
    TaskState,
    TaskStatus,
)
from spec2prod_assets.runtime.processes import (
    CommandResult,
    clean_env,
    python_tool,
    run_command_async,
    usable_cores,
)
from spec2prod_assets.runtime.sandbox import Sandbox

# What `crosshair cover` prints when a module defines no function to cover.
_NOTHING_TO_COVER = "No functions or methods found"
DEFAULT_DEADLINE_S = 600.0


@dataclass
class _Progress:
    """How far a run has got: its process id once it runs, its budget once it leaves the queue."""

    started: asyncio.Future[int]
    budget: TaskBudget | None = None


@dataclass(frozen=True)
class _Job:
    """One `crosshair cover` run: its task, and the asyncio task that waits for a slot and then for the
    process (a None result: it never started, the run's deadline had passed)."""

    task: GenerationTask
    progress: _Progress
    run: asyncio.Task[CommandResult | None]


class CrossHairGenerator:
    """Generates pytest tests with CrossHair's symbolic execution, one subprocess per module.

    Runs locally and costs nothing; the tests it writes pin down current behaviour (including the
    exceptions raised), which the validation funnel then checks like any other generated test. Its
    tasks live on the event loop that submitted them: one generator serves one `generate` call, and
    its deadline starts with the first submit.
    """

    def __init__(
        self,
        *,
        per_condition_timeout_s: float,
        time_budget_s: float,
        min_budget_s: float = BudgetPolicy.min_s,
        base_budget_s: float = BudgetPolicy.base_s,
        per_line_budget_s: float = BudgetPolicy.per_line_s,
        deadline_s: float = DEFAULT_DEADLINE_S,
        max_parallel: int | None = None,
    ) -> None:
        self.per_condition_timeout_s = per_condition_timeout_s
        self.time_budget_s = time_budget_s  # the most one module gets, however large
        self.budget_policy = BudgetPolicy(
            min_s=min_budget_s, base_s=base_budget_s, per_line_s=per_line_budget_s, max_s=time_budget_s
        )
        self.deadline_s = deadline_s
        self.max_parallel = max_parallel or usable_cores()
        self._slots = asyncio.Semaphore(self.max_parallel)
        self._deadline: float | None = None
        self._jobs: dict[str, _Job] = {}

    @property
    def generator_name(self) -> str:
        return "crosshair"

    @property
    def cache_identity(self) -> str:
        """Everything that can change what this generator writes for the same module: CrossHair's version
        and every time it is given. Not `max_parallel`: it changes when tests arrive, not which."""
        try:
            version = importlib.metadata.version("crosshair-tool")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        return (
            f"crosshair-tool=={version};per_condition={self.per_condition_timeout_s:g}s;"
            f"budget({self.budget_policy.describe()});deadline={self.deadline_s:g}s"
        )

    async def submit(self, task: GenerationTask) -> TaskHandle:
        """Start `crosshair cover` for the task's module, or queue it behind the runs that hold every
        slot; returns once the process runs or the task is queued."""
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = time.monotonic() + self.deadline_s
        progress = _Progress(started=loop.create_future())
        queued: asyncio.Future[None] = loop.create_future()
        run = asyncio.create_task(self._run(task, progress, queued))
        try:
            await asyncio.wait((progress.started, queued, run), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # a caller that gave up on submit never gets a handle to cancel
            run.cancel()
            raise
        if run.done() and not progress.started.done():
            error = run.exception()
            if error is not None:  # the run ended before its process ran: it could not start
                raise GeneratorError(_start_failure(task, error)) from error
        self._jobs[task.task_id] = _Job(task, progress, run)
        backend_id = str(progress.started.result()) if progress.started.done() else "queued"
        return TaskHandle(task_id=task.task_id, backend_id=backend_id, submitted_at=time.time())

    async def _run(
        self, task: GenerationTask, progress: _Progress, queued: asyncio.Future[None]
    ) -> CommandResult | None:
        """Wait for a slot, size the budget from the time left then, and run CrossHair within it."""
        if self._slots.locked():
            queued.set_result(None)
        async with self._slots:
            remaining_s = (self._deadline or time.monotonic()) - time.monotonic()
            budget = progress.budget = task_budget(
                _module_lines(task), self.budget_policy, remaining_s=remaining_s
            )
            if budget.seconds <= 0:
                return None
            workspace = Path(task.workspace_dir)
            return await run_command_async(
                [
                    *python_tool("crosshair", python=task.python),
                    "cover",
                    task.import_name,
                    "--example_output_format=pytest",
                    f"--per_condition_timeout={self.per_condition_timeout_s}",
                ],
                cwd=workspace,
                timeout_s=budget.seconds,
                env=clean_env({"PYTHONPATH": str(workspace / task.import_root)}),
                started=progress.started,
                clip_output=False,
                # CrossHair imports and runs the component: untrusted code, so it gets the sandbox
                # with only its own workspace copy writable.
                sandbox=Sandbox(writable=(workspace,), readable=tuple(Path(p) for p in task.readable_roots)),
            )

    async def poll(self, handles: Sequence[TaskHandle]) -> list[TaskStatus]:
        """Running while queued or until the process exits; failed when it was killed at its budget."""
        return [self._status(handle) for handle in handles]

    async def collect(self, handle: TaskHandle) -> GeneratedFiles:
        """The pytest file CrossHair printed, placed in the task's tests folder."""
        job = self._job(handle)
        if not job.run.done():
            raise GeneratorError(f"task {handle.task_id} has not finished")
        result = job.run.result()
        source = result.stdout if result is not None else ""
        if "def test_" not in source:
            return GeneratedFiles(task_id=handle.task_id)
        module = PurePosixPath(job.task.module).stem
        path = f"{job.task.tests_path}/test_{module}_crosshair.py"
        return GeneratedFiles(task_id=handle.task_id, files=(GeneratedFile(path=path, content=source),))

    async def cancel(self, handle: TaskHandle) -> str:
        """Cancel the task's run, which kills its process group (or leaves the queue). Never raises."""
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
        budget = job.progress.budget
        status = TaskStatus(
            task_id=handle.task_id,
            state=TaskState.RUNNING,
            time_budget_s=budget.seconds if budget is not None else None,
        )
        if not job.run.done():
            if job.progress.started.done():
                return status
            return status.model_copy(update={"detail": f"queued for one of {self.max_parallel} slots"})
        failed = status.model_copy(update={"state": TaskState.FAILED})
        if job.run.exception() is not None:
            return failed.model_copy(update={"detail": _start_failure(job.task, job.run.exception())})
        result = job.run.result()
        if result is None:
            reason = budget.reason if budget is not None else "no time left"
            return failed.model_copy(update={"detail": f"crosshair not started: {reason}"})
        if result.timed_out:
            assert budget is not None  # a run that started had its budget
            detail = (
                f"crosshair exceeded its {budget.seconds:g}s budget and was stopped; budget: {budget.reason}"
            )
            return failed.model_copy(update={"detail": detail})
        if result.exit_code != 0:
            if _NOTHING_TO_COVER in result.stderr:
                # A module of constants or re-exports: nothing to test is a result, not a failure.
                return status.model_copy(update={"state": TaskState.SUCCEEDED, "detail": "no functions"})
            tail = "\n".join(result.stderr.strip().splitlines()[-5:])
            return failed.model_copy(update={"detail": f"crosshair exited with {result.exit_code}: {tail}"})
        return status.model_copy(update={"state": TaskState.SUCCEEDED})

    def _job(self, handle: TaskHandle) -> _Job:
        job = self._jobs.get(handle.task_id)
        if job is None:
            raise GeneratorError(f"task {handle.task_id} was not submitted by this generator")
        return job


def _module_lines(task: GenerationTask) -> int:
    """The module's lines of code; 0 when it cannot be read (CrossHair will then say why it failed)."""
    try:
        return code_lines((Path(task.workspace_dir) / task.module).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return 0


def _start_failure(task: GenerationTask, error: BaseException | None) -> str:
    cause = error.__cause__ if error is not None and error.__cause__ else error
    return f"could not start crosshair for {task.import_name}: {cause}"
