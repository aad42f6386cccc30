"""Reuse what an identical generation task produced before: 0 tasks submitted, $0.

A task's key is the sha256 of everything its answer depends on: the module's source bytes, every file
of the tests folder as the generator sees it, the task text (the spec's requirements and acceptance
criteria, the uncovered lines), where the tests go and how the module imports, and the generator's
identity and configuration (`cache_identity`, or its name). Any changed byte misses. Only tasks that
succeeded are stored; a hit hands back the files that task returned (and the paths it had refused), which
then go through the validation funnel like fresh ones.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from spec2prod_assets.generation.cache import KindCache, cache_key, text_sha256, tree_sha256
from spec2prod_assets.generation.protocol import (
    GeneratedFile,
    GeneratedFiles,
    GenerationTask,
    RejectedPath,
    TaskState,
    TaskStatus,
    TestGenerator,
)

TASK_CACHE_KIND = "generation-tasks"


class TaskCache(KindCache):
    """Generated files by task key, in `<work>/cache/generation-tasks/`."""

    kind = TASK_CACHE_KIND

    def key(self, generator: TestGenerator, task: GenerationTask) -> str:
        """The task's key, read from its workspace now (before a generator can touch it).

        OSError if the module cannot be read: such a task is not cached, it runs.
        """
        return cache_key(task_inputs(generator, task))

    def lookup(self, key: str, task: GenerationTask) -> GeneratedFiles | None:
        """What the identical task returned before, under this task's id; None on a miss."""
        entry = self.store.get(key)
        if entry is None:
            return None
        try:
            return GeneratedFiles(
                task_id=task.task_id,
                files=tuple(GeneratedFile(path=path, content=text) for path, text in entry.files.items()),
                rejected=tuple(RejectedPath.model_validate(r) for r in entry.payload["rejected"]),
            )
        except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            self.store.log.warning("Task cache entry %s does not read back (%s); the task runs", key, exc)
            self.store.discard(key)
            return None

    def store_result(
        self, key: str, task: GenerationTask, generator: TestGenerator, files: GeneratedFiles
    ) -> bool:
        """Keep a succeeded task's files under `key`; True if this call wrote the entry."""
        return self.store.put(
            key,
            inputs=task_inputs(generator, task),
            payload={
                "task_id": task.task_id,
                "generator": generator.generator_name,
                "rejected": [r.model_dump(mode="json") for r in files.rejected],
            },
            files={f.path: f.content for f in files.files},
        )


def generator_identity(generator: TestGenerator) -> str:
    """Who answers and with what settings: `cache_identity` when the backend has one, else its name."""
    identity = getattr(generator, "cache_identity", None)
    return identity if isinstance(identity, str) and identity else generator.generator_name


def task_inputs(generator: TestGenerator, task: GenerationTask) -> dict[str, Any]:
    """Everything a task's answer depends on, as digests and short fields; `entry.json` shows them.

    The workspace's own path and the task id are left out: the same task in another run's copy of the
    component is the same task.
    """
    workspace = Path(task.workspace_dir)
    inputs: dict[str, Any] = {
        "module": task.module,
        "module_sha256": hashlib.sha256((workspace / task.module).read_bytes()).hexdigest(),
        "tests_path": task.tests_path,
        "tests_sha256": tree_sha256(workspace, task.tests_path),
        "instructions_sha256": text_sha256(task.instructions),
        "import_name": task.import_name,
        "import_root": task.import_root,
        "source_path": task.source_path,
        "uncovered_lines": list(task.uncovered_lines),
        "python": task.python,
        "generator": generator_identity(generator),
    }
    return inputs


def cached_status(task_id: str, key: str) -> TaskStatus:
    """A hit's status: succeeded, free, and saying where its files came from."""
    return TaskStatus(
        task_id=task_id,
        state=TaskState.SUCCEEDED,
        detail=f"from cache: reused the files of an identical earlier task (entry {key[:12]}), not submitted",
    )
