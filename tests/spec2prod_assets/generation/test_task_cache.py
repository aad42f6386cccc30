"""The task cache through the runner: an identical task is answered from disk, any changed input runs.

Real files in a real workspace copy; the scripted generator records every call, so "not submitted"
is what the backend saw, not what the result says.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from spec2prod_assets.generation.protocol import GeneratedFile, GenerationTask, RejectedPath, TaskState
from spec2prod_assets.generation.runner import GenerationResult, generate
from spec2prod_assets.generation.task_cache import TASK_CACHE_KIND, TaskCache
from spec2prod_assets.storage.work_folder import WorkFolder
from tests.support.fake_generators import Script, ScriptedGenerator

LOG = logging.getLogger("tests.task_cache")
MODULE = "src/calc/ops.py"
TESTS_PATH = "tests/calc"
GENERATED = GeneratedFile(
    path=f"{TESTS_PATH}/test_ops_generated.py",
    content="from calc.ops import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
)
REFUSED = RejectedPath(path="src/calc/ops.py", reason="outside the tests folder 'tests/calc'")


def _workspace(root: Path) -> Path:
    (root / "src" / "calc").mkdir(parents=True)
    (root / MODULE).write_text("def add(a, b):\n    return a + b\n")
    (root / TESTS_PATH).mkdir(parents=True)
    (root / TESTS_PATH / "test_ops.py").write_text("def test_nothing():\n    assert True\n")
    return root


def _task(workspace: Path, instructions: str = "FR-1: add adds. Uncovered: 2.") -> GenerationTask:
    return GenerationTask(
        task_id="calc-ops",
        component="calc",
        module=MODULE,
        import_name="calc.ops",
        instructions=instructions,
        workspace_dir=str(workspace),
        source_path="src/calc",
        tests_path=TESTS_PATH,
        uncovered_lines=(2,),
    )


def _generator(name: str = "scripted", state: TaskState = TaskState.SUCCEEDED) -> ScriptedGenerator:
    script = Script(final_state=state, files=(GENERATED,), rejected=(REFUSED,), cost_usd=0.25)
    return ScriptedGenerator(default_script=script, name=name)


def _generate(generator: ScriptedGenerator, task: GenerationTask, cache: TaskCache) -> GenerationResult:
    return asyncio.run(
        generate(generator, [task], poll_interval_s=0.01, deadline_s=10.0, log=LOG, cache=cache)
    )


@pytest.fixture
def cache(tmp_path: Path) -> TaskCache:
    return TaskCache.in_work_folder(WorkFolder(tmp_path / "work"))


def test_an_identical_task_in_another_runs_copy_is_answered_from_the_cache(
    tmp_path: Path, cache: TaskCache
) -> None:
    first = _generate(_generator(), _task(_workspace(tmp_path / "run-1")), cache)
    generator = _generator()

    again = _generate(generator, _task(_workspace(tmp_path / "run-2")), cache)

    assert (first.tasks_submitted, first.cache_hits, first.cost_usd) == (1, 0, 0.25)
    assert generator.calls == []
    assert (again.tasks_submitted, again.tasks_succeeded, again.cache_hits, again.cost_usd) == (0, 1, 1, 0.0)
    assert again.files == first.files
    assert again.files[0].files == (GENERATED,) and again.files[0].rejected == (REFUSED,)
    assert [s.state for s in again.statuses] == [TaskState.SUCCEEDED]
    assert again.statuses[0].detail.startswith("from cache")
    assert again.handles == () and again.degraded_reason is None


def test_the_entry_lives_in_the_work_folders_cache_as_json_and_files(
    tmp_path: Path, cache: TaskCache
) -> None:
    _generate(_generator(), _task(_workspace(tmp_path / "run-1")), cache)

    (entry,) = (tmp_path / "work" / "cache" / TASK_CACHE_KIND).iterdir()

    assert (entry / "entry.json").is_file()
    assert (entry / "files" / GENERATED.path).read_text() == GENERATED.content


def _change_module(workspace: Path, task: GenerationTask) -> GenerationTask:
    (workspace / MODULE).write_text("def add(a, b):\n    return a + b \n")
    return task


def _change_tests(workspace: Path, task: GenerationTask) -> GenerationTask:
    (workspace / TESTS_PATH / "test_ops.py").write_text("def test_nothing():\n    assert True \n")
    return task


def _add_a_test_file(workspace: Path, task: GenerationTask) -> GenerationTask:
    (workspace / TESTS_PATH / "test_more.py").write_text("")
    return task


def _change_instructions(workspace: Path, task: GenerationTask) -> GenerationTask:
    return task.model_copy(update={"instructions": task.instructions + "."})


@pytest.mark.parametrize(
    "change",
    [_change_module, _change_tests, _add_a_test_file, _change_instructions],
    ids=["module-source", "existing-test", "new-test-file", "instructions"],
)
def test_one_changed_byte_in_an_input_misses(
    tmp_path: Path, cache: TaskCache, change: Callable[[Path, GenerationTask], GenerationTask]
) -> None:
    _generate(_generator(), _task(_workspace(tmp_path / "run-1")), cache)
    workspace = _workspace(tmp_path / "run-2")
    task = change(workspace, _task(workspace))
    generator = _generator()

    again = _generate(generator, task, cache)

    assert (again.tasks_submitted, again.cache_hits) == (1, 0)
    assert ("submit", ("calc-ops",)) in generator.calls


def test_another_generator_name_misses(tmp_path: Path, cache: TaskCache) -> None:
    _generate(_generator("scripted"), _task(_workspace(tmp_path / "run-1")), cache)

    again = _generate(_generator("other"), _task(_workspace(tmp_path / "run-2")), cache)

    assert (again.tasks_submitted, again.cache_hits) == (1, 0)


def test_a_changed_cache_identity_misses_even_under_the_same_name(tmp_path: Path, cache: TaskCache) -> None:
    class Configured(ScriptedGenerator):
        cache_identity = "scripted temperature=0"

    class Reconfigured(ScriptedGenerator):
        cache_identity = "scripted temperature=1"

    script = Script(files=(GENERATED,))
    _generate(Configured(default_script=script), _task(_workspace(tmp_path / "run-1")), cache)
    same = _generate(Configured(default_script=script), _task(_workspace(tmp_path / "run-2")), cache)

    other = _generate(Reconfigured(default_script=script), _task(_workspace(tmp_path / "run-3")), cache)

    assert same.cache_hits == 1
    assert (other.tasks_submitted, other.cache_hits) == (1, 0)


def test_a_failed_task_is_not_cached(tmp_path: Path, cache: TaskCache) -> None:
    failed = _generate(_generator(state=TaskState.FAILED), _task(_workspace(tmp_path / "run-1")), cache)

    again = _generate(_generator(), _task(_workspace(tmp_path / "run-2")), cache)

    assert failed.tasks_succeeded == 0
    assert (again.tasks_submitted, again.cache_hits) == (1, 0)


def test_a_task_whose_collect_failed_is_not_cached(tmp_path: Path, cache: TaskCache) -> None:
    broken = ScriptedGenerator(default_script=Script(files=(GENERATED,), collect_error="download failed"))
    _generate(broken, _task(_workspace(tmp_path / "run-1")), cache)

    again = _generate(_generator(), _task(_workspace(tmp_path / "run-2")), cache)

    assert (again.tasks_submitted, again.cache_hits) == (1, 0)


def test_a_corrupt_entry_is_a_miss_and_the_task_runs(tmp_path: Path, cache: TaskCache) -> None:
    _generate(_generator(), _task(_workspace(tmp_path / "run-1")), cache)
    (entry,) = cache.store.folder.iterdir()
    (entry / "files" / GENERATED.path).write_text("import os\nos.system('echo tampered')\n")
    generator = _generator()

    again = _generate(generator, _task(_workspace(tmp_path / "run-2")), cache)

    assert (again.tasks_submitted, again.cache_hits) == (1, 0)
    assert again.files[0].files == (GENERATED,)


def test_a_task_whose_module_is_missing_runs_uncached(tmp_path: Path, cache: TaskCache) -> None:
    workspace = _workspace(tmp_path / "run-1")
    (workspace / MODULE).unlink()

    first = _generate(_generator(), _task(workspace), cache)

    assert (first.tasks_submitted, first.tasks_succeeded) == (1, 1)
    assert not cache.store.folder.exists()


def test_only_the_tasks_that_miss_are_submitted(tmp_path: Path, cache: TaskCache) -> None:
    _generate(_generator(), _task(_workspace(tmp_path / "run-1")), cache)
    workspace = _workspace(tmp_path / "run-2")
    shutil.copy(workspace / MODULE, workspace / "src" / "calc" / "more.py")
    new_task = _task(workspace).model_copy(
        update={"task_id": "calc-more", "module": "src/calc/more.py", "import_name": "calc.more"}
    )
    generator = _generator()

    again = asyncio.run(
        generate(
            generator,
            [_task(workspace), new_task],
            poll_interval_s=0.01,
            deadline_s=10.0,
            log=LOG,
            cache=cache,
        )
    )

    assert [c for c in generator.calls if c[0] == "submit"] == [("submit", ("calc-more",))]
    assert (again.tasks_submitted, again.tasks_succeeded, again.cache_hits) == (1, 2, 1)
    assert [f.task_id for f in again.files] == ["calc-ops", "calc-more"]
    assert [s.task_id for s in again.statuses] == ["calc-ops", "calc-more"]
    assert again.cost_usd == 0.25


def test_an_entry_whose_refused_paths_do_not_read_back_is_a_miss(tmp_path: Path, cache: TaskCache) -> None:
    _generate(_generator(), _task(_workspace(tmp_path / "run-1")), cache)
    (entry,) = cache.store.folder.iterdir()
    described = json.loads((entry / "entry.json").read_text())
    described["payload"]["rejected"] = [{"path": 3}]
    (entry / "entry.json").write_text(json.dumps(described))

    again = _generate(_generator(), _task(_workspace(tmp_path / "run-2")), cache)

    assert (again.tasks_submitted, again.cache_hits) == (1, 0)
    assert again.files[0].rejected == (REFUSED,)
