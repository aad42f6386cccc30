"""The built-in test generator: `crosshair cover` per module, so the pipeline needs no service."""

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import dagster as dg
from pydantic import Field, PrivateAttr

from spec2prod_assets.generation.protocol import (
    GeneratedFile,
    GeneratedFiles,
    GenerationTask,
    GeneratorError,
    TaskHandle,
    TaskState,
    TaskStatus,
)
from spec2prod_assets.runtime.processes import clean_env, python_tool
from spec2prod_assets.storage.working_copies import import_root

# What `crosshair cover` prints when a module defines no function to cover.
_NOTHING_TO_COVER = "No functions or methods found"


class _Job:
    """One running `crosshair cover`: the process and where its output goes."""

    def __init__(
        self, task: GenerationTask, process: asyncio.subprocess.Process, output: Path, errors: Path
    ) -> None:
        self.task = task
        self.process = process
        self.output = output
        self.errors = errors


class CrossHairGeneratorResource(dg.ConfigurableResource):
    """Generates pytest tests with CrossHair's symbolic execution, one subprocess per module.

    Runs locally and costs nothing; the tests it writes pin down current behaviour (including the
    exceptions raised), which the validation funnel then checks like any other generated test.
    """

    per_condition_timeout_s: float = Field(default=4.0, description="CrossHair's budget per function.")
    time_budget_s: float = Field(default=180.0, description="A task still running after this is killed.")

    _jobs: dict[str, _Job] = PrivateAttr(default_factory=dict)

    @property
    def generator_name(self) -> str:
        return "crosshair"

    async def submit(self, task: GenerationTask) -> TaskHandle:
        """Start `crosshair cover` for the task's module and return at once."""
        scratch = Path(tempfile.mkdtemp(prefix="spec2prod-crosshair-"))
        output, errors = scratch / "generated.py", scratch / "stderr.txt"
        workspace = Path(task.workspace_dir)
        env = clean_env({"PYTHONPATH": str(workspace / import_root(task.source_path))})
        # Files, not pipes: nobody reads a pipe while the task runs, and a full pipe would stall it.
        with output.open("wb") as stdout, errors.open("wb") as stderr:
            try:
                process = await asyncio.create_subprocess_exec(
                    *python_tool("crosshair"),
                    "cover",
                    task.import_name,
                    "--example_output_format=pytest",
                    f"--per_condition_timeout={self.per_condition_timeout_s}",
                    cwd=workspace,
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=stdout,
                    stderr=stderr,
                    start_new_session=True,
                )
            except OSError as exc:
                raise GeneratorError(f"could not start crosshair for {task.import_name}: {exc}") from exc
        self._jobs[task.task_id] = _Job(task, process, output, errors)
        return TaskHandle(task_id=task.task_id, backend_id=str(process.pid), submitted_at=time.time())

    async def poll(self, handles: Sequence[TaskHandle]) -> list[TaskStatus]:
        """Running until the process exits; killed and failed past `time_budget_s`."""
        return [await self._poll_one(handle) for handle in handles]

    async def collect(self, handle: TaskHandle) -> GeneratedFiles:
        """The pytest file CrossHair printed, placed in the task's tests folder."""
        job = self._job(handle)
        source = job.output.read_text(encoding="utf-8", errors="replace")
        await self._stop(job)
        if "def test_" not in source:
            return GeneratedFiles(task_id=handle.task_id)
        module = PurePosixPath(job.task.module).stem
        path = f"{job.task.tests_path}/test_{module}_crosshair.py"
        return GeneratedFiles(task_id=handle.task_id, files=(GeneratedFile(path=path, content=source),))

    async def cancel(self, handle: TaskHandle) -> str:
        """Kill the task's process group and drop its scratch files. Never raises."""
        job = self._jobs.pop(handle.task_id, None)
        if job is None:
            return "unknown task"
        await self._stop(job)
        return "stopped crosshair"

    async def _stop(self, job: _Job) -> None:
        if job.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(job.process.pid, signal.SIGKILL)
            await job.process.wait()
        shutil.rmtree(job.output.parent, ignore_errors=True)

    async def _poll_one(self, handle: TaskHandle) -> TaskStatus:
        job = self._jobs.get(handle.task_id)
        if job is None:
            return TaskStatus(task_id=handle.task_id, state=TaskState.FAILED, detail="unknown task")
        process = job.process
        if process.returncode is None:
            if time.time() - handle.submitted_at <= self.time_budget_s:
                return TaskStatus(task_id=handle.task_id, state=TaskState.RUNNING)
            await self._stop(job)
            return TaskStatus(
                task_id=handle.task_id,
                state=TaskState.FAILED,
                detail=f"crosshair exceeded its {self.time_budget_s:g}s budget and was stopped",
            )
        if process.returncode != 0:
            stderr = job.errors.read_text(encoding="utf-8", errors="replace")
            if _NOTHING_TO_COVER in stderr:
                # A module of constants or re-exports: nothing to test is a result, not a failure.
                return TaskStatus(task_id=handle.task_id, state=TaskState.SUCCEEDED, detail="no functions")
            tail = "\n".join(stderr.strip().splitlines()[-5:])
            return TaskStatus(
                task_id=handle.task_id,
                state=TaskState.FAILED,
                detail=f"crosshair exited with {process.returncode}: {tail}",
            )
        return TaskStatus(task_id=handle.task_id, state=TaskState.SUCCEEDED)

    def _job(self, handle: TaskHandle) -> _Job:
        job = self._jobs.get(handle.task_id)
        if job is None:
            raise GeneratorError(f"task {handle.task_id} was not submitted by this generator")
        return job
