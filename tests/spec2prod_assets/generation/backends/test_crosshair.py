"""The built-in generator: real `crosshair cover` subprocesses on tiny modules, through the protocol."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from textwrap import dedent

import pytest

from spec2prod_assets.generation.backends.crosshair import CrossHairGenerator
from spec2prod_assets.generation.protocol import (
    GenerationTask,
    GeneratorError,
    TaskHandle,
    TaskState,
    TaskStatus,
    rejection_reason,
)
from spec2prod_assets.generation.protocol import TestGenerator as GeneratorProtocol
from spec2prod_assets.testing import pytest_run as test_runner
from tests.support.layouts import layout_of

PACKAGE = "tiny"
SOURCE_PATH = f"src/{PACKAGE}"
TESTS_PATH = f"tests/{PACKAGE}"
WAIT_S = 60.0

CORE = dedent(
    """\
    def clip(x: int) -> int:
        if x > 10:
            return 10
        return x
    """
)


def _workspace(tmp_path: Path, modules: dict[str, str]) -> Path:
    tree = tmp_path / "workspace"
    package = tree / SOURCE_PATH
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name, source in modules.items():
        (package / f"{name}.py").write_text(source)
    (tree / TESTS_PATH).mkdir(parents=True)
    return tree


def _task(tree: Path, module: str) -> GenerationTask:
    return GenerationTask(
        task_id=f"{PACKAGE}-{module}",
        component=PACKAGE,
        module=f"{SOURCE_PATH}/{module}.py",
        import_name=f"{PACKAGE}.{module}",
        instructions="Cover every branch.",
        workspace_dir=str(tree),
        source_path=SOURCE_PATH,
        tests_path=TESTS_PATH,
    )


async def _wait(generator: CrossHairGenerator, handle: TaskHandle) -> TaskStatus:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        (status,) = await generator.poll([handle])
        if status.state.is_terminal:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"crosshair did not finish within {WAIT_S}s")


def crosshair(per_condition_timeout_s: float = 1.0, time_budget_s: float = 180.0) -> CrossHairGenerator:
    return CrossHairGenerator(per_condition_timeout_s=per_condition_timeout_s, time_budget_s=time_budget_s)


def test_the_generator_speaks_the_protocol() -> None:
    generator = crosshair()
    assert isinstance(generator, GeneratorProtocol)
    assert generator.generator_name == "crosshair"


def test_submit_returns_at_once_and_collect_gives_one_runnable_pytest_file(tmp_path: Path) -> None:
    tree = _workspace(tmp_path, {"core": CORE})
    generator = crosshair()

    async def scenario() -> tuple[float, float, TaskStatus, TaskStatus, list[tuple[str, str]]]:
        started = time.perf_counter()
        handle = await generator.submit(_task(tree, "core"))
        submit_s = time.perf_counter() - started
        (first,) = await generator.poll([handle])
        final = await _wait(generator, handle)
        total_s = time.perf_counter() - started
        collected = await generator.collect(handle)
        return submit_s, total_s, first, final, [(f.path, f.content) for f in collected.files]

    submit_s, total_s, first, final, files = asyncio.run(scenario())

    assert first.state is TaskState.RUNNING
    assert submit_s < total_s / 3
    assert final.state is TaskState.SUCCEEDED, final.detail
    ((path, content),) = files
    assert path == f"{TESTS_PATH}/test_core_crosshair.py"
    assert rejection_reason(path, TESTS_PATH) is None
    assert f"from {PACKAGE}.core import clip" in content
    assert "def test_" in content
    (tree / path).write_text(content)
    run = test_runner.run_tests(
        tree, layout_of(SOURCE_PATH), test_paths=[path], output_dir=tmp_path / "results", timeout_s=60
    )
    assert run.passed >= 1 and run.failed == 0
    assert run.coverage is not None
    (core,) = [m for m in run.coverage.modules if m.path.endswith("core.py")]
    assert core.missing_lines == ()


def test_a_module_that_fails_to_import_fails_the_task_with_crosshairs_error(tmp_path: Path) -> None:
    broken = "import a_module_that_does_not_exist_anywhere\n\n\ndef f(x: int) -> int:\n    return x\n"
    tree = _workspace(tmp_path, {"broken": broken})
    generator = crosshair()

    async def scenario() -> TaskStatus:
        handle = await generator.submit(_task(tree, "broken"))
        return await _wait(generator, handle)

    status = asyncio.run(scenario())

    assert status.state is TaskState.FAILED
    assert status.detail.startswith("crosshair exited with")
    assert "ModuleNotFoundError" in status.detail
    assert "a_module_that_does_not_exist_anywhere" in status.detail


def test_a_task_past_its_time_budget_is_failed_and_its_process_is_gone(tmp_path: Path) -> None:
    slow_import = "import time\n\ntime.sleep(60)\n\n\ndef f(x: int) -> int:\n    return x\n"
    tree = _workspace(tmp_path, {"slow": slow_import})
    generator = crosshair(time_budget_s=0.5)

    async def scenario() -> tuple[TaskStatus, int, float]:
        started = time.perf_counter()
        handle = await generator.submit(_task(tree, "slow"))
        status = await _wait(generator, handle)
        return status, int(handle.backend_id), time.perf_counter() - started

    status, pid, elapsed = asyncio.run(scenario())

    assert status.state is TaskState.FAILED
    assert status.detail.startswith("crosshair exceeded its 0.5s budget and was stopped; budget: ")
    assert "4 code lines capped at the per-module maximum of 0.5s" in status.detail  # why it was that size
    assert status.time_budget_s == 0.5
    assert elapsed < 10
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_polling_a_task_it_never_submitted_fails_that_task() -> None:
    generator = crosshair()
    stranger = TaskHandle(task_id="elsewhere", backend_id="1", submitted_at=time.time())

    (status,) = asyncio.run(generator.poll([stranger]))

    assert status.state is TaskState.FAILED
    assert status.detail == "unknown task"


def test_cancel_kills_the_running_process_and_forgets_the_task(tmp_path: Path) -> None:
    slow_import = "import time\n\ntime.sleep(60)\n\n\ndef f(x: int) -> int:\n    return x\n"
    tree = _workspace(tmp_path, {"slow": slow_import})
    generator = crosshair()

    async def scenario() -> tuple[TaskStatus, str, TaskStatus, int]:
        handle = await generator.submit(_task(tree, "slow"))
        (running,) = await generator.poll([handle])
        said = await generator.cancel(handle)
        (after,) = await generator.poll([handle])
        return running, said, after, int(handle.backend_id)

    running, said, after, pid = asyncio.run(scenario())

    assert running.state is TaskState.RUNNING
    assert said == "stopped crosshair"
    assert (after.state, after.detail) == (TaskState.FAILED, "unknown task")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_run_that_cannot_start_fails_the_submit(tmp_path: Path) -> None:
    task = _task(tmp_path / "no-such-workspace", "core")

    with pytest.raises(GeneratorError, match=f"could not start crosshair for {PACKAGE}.core"):
        asyncio.run(crosshair().submit(task))


def test_cancelling_a_task_it_never_submitted_says_so() -> None:
    stranger = TaskHandle(task_id="elsewhere", backend_id="1", submitted_at=time.time())

    assert asyncio.run(crosshair().cancel(stranger)) == "unknown task"


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_crosshair_leaves_no_scratch_files_behind_after_a_run_or_a_cancel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # the one temporary folder the run inherits
    slow_import = "import time\n\ntime.sleep(60)\n\n\ndef f(x: int) -> int:\n    return x\n"
    tree = _workspace(tmp_path, {"core": CORE, "slow": slow_import})
    before = _listing(tree)
    generator = crosshair()

    async def scenario() -> TaskStatus:
        finished = await generator.submit(_task(tree, "core"))
        cancelled = await generator.submit(_task(tree, "slow"))
        status = await _wait(generator, finished)
        await generator.cancel(cancelled)
        return status

    status = asyncio.run(scenario())

    assert status.state is TaskState.SUCCEEDED, status.detail
    assert _listing(scratch) == set()
    assert _listing(tree) == before
