"""The one protocol every test generator speaks: submit now, poll later, collect the files.

`generated_tests` drives OpenHands and the built-in CrossHair generator through this protocol only,
so a backend can be swapped without touching the asset.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from spec2prod_assets.storage.safe_paths import PathFault, is_inside_folder, relative_path_fault
from spec2prod_assets.storage.working_copies import import_root


class GenerationTask(BaseModel):
    """One request for tests: a module of one component and what its spec asks of it."""

    model_config = ConfigDict(frozen=True)

    task_id: str = Field(description="Stable id, unique within a run (e.g. '<slug>-<module>').")
    component: str = Field(description="The component slug.")
    module: str = Field(description="Module path relative to the workspace root, e.g. 'src/calc/ops.py'.")
    import_name: str = Field(description="Dotted import name of the module, e.g. 'calc.ops'.")
    instructions: str = Field(description="Task text: requirements, acceptance criteria, uncovered lines.")
    workspace_dir: str = Field(
        description="A local folder holding the component's source and tests, laid out as in the project."
    )
    source_path: str = Field(description="The component's source folder, relative to workspace_dir.")
    tests_path: str = Field(description="Where new tests go: a folder relative to workspace_dir.")
    import_root: str = Field(
        default="",
        description="The PYTHONPATH entry, relative to workspace_dir, that imports the module; "
        "default the source folder's parent.",
    )
    python: str | None = Field(
        default=None, description="The component environment's interpreter; None: spec2prod's own."
    )
    readable_roots: tuple[str, ...] = Field(
        default=(), description="Folders a sandboxed run must see read-only (the component's environment)."
    )
    uncovered_lines: tuple[int, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _import_root_defaults_to_the_source_parent(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and not data.get("import_root")
            and isinstance(data.get("source_path"), str)
        ):
            return {**data, "import_root": import_root(data["source_path"])}
        return data


class TaskHandle(BaseModel):
    """What `submit` returns at once; enough to poll and collect later, also from another process."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    backend_id: str = Field(description="The backend's own id (an OpenHands conversation id, a pid...).")
    submitted_at: float = Field(description="time.time() at submission.")


class TaskState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED)


class TaskStatus(BaseModel):
    """One poll's answer for one task."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    state: TaskState
    detail: str = Field(default="", description="Why it failed, or what the backend last said.")
    cost_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    link: str | None = Field(default=None, description="Where a person can look at the task, if anywhere.")
    time_budget_s: float | None = Field(
        default=None,
        description="The seconds the backend gave this task before it is stopped, once it knows; "
        "None when the backend sets no budget of its own (or the task is still queued).",
    )


class GeneratedFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str = Field(description="Relative to the workspace root; always inside the tests folder.")
    content: str


class RejectedPath(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    reason: str


class GeneratedFiles(BaseModel):
    """What `collect` returns: the test files kept and every path refused, with the reason."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    files: tuple[GeneratedFile, ...] = ()
    rejected: tuple[RejectedPath, ...] = ()


class GeneratorError(RuntimeError):
    """A backend could not do what was asked (down, refused, timed out); the run degrades."""


@runtime_checkable
class TestGenerator(Protocol):
    """A backend that writes unit tests for a module, asynchronously."""

    @property
    def generator_name(self) -> str: ...

    async def submit(self, task: GenerationTask) -> TaskHandle:
        """Start the task and return at once."""
        ...

    async def poll(self, handles: Sequence[TaskHandle]) -> list[TaskStatus]:
        """The current status of each handle, in order; one request where the backend allows."""
        ...

    async def collect(self, handle: TaskHandle) -> GeneratedFiles:
        """The test files a finished task produced, with paths outside the tests folder rejected."""
        ...

    async def cancel(self, handle: TaskHandle) -> str:
        """Stop a task nobody waits for any more (deadline passed); says what was done. Never raises."""
        ...


def rejection_reason(path: str, tests_path: str) -> str | None:
    """Why a generated file's path is refused, or None when it is a Python test file inside `tests_path`.

    Generated paths are untrusted: absolute paths, `..`, and anything outside the tests folder are
    refused before a byte is written.
    """
    fault = relative_path_fault(path)
    if fault is PathFault.ABSOLUTE:
        return "absolute path"
    if fault is PathFault.PARENT:
        return "path escapes with '..'"
    if not is_inside_folder(path, tests_path):
        return f"outside the tests folder {tests_path!r}"
    if not PurePosixPath(path.replace("\\", "/")).name.endswith(".py"):
        return "not a Python file"
    return None
