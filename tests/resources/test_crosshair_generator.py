"""The built-in generator: real `crosshair cover` subprocesses on tiny modules, through the protocol."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from textwrap import dedent

import pytest

from resources.crosshair_generator import CrossHairGeneratorResource
from spec2prod_assets.generation.protocol import (
    GenerationTask,
    TaskHandle,
    TaskState,
    TaskStatus,
    rejection_reason,
)
from spec2prod_assets.generation.protocol import TestGenerator as GeneratorProtocol
from spec2prod_assets.testing import pytest_run as test_runner

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


@pytest.fixture(autouse=True)
def scratch_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CrossHair's output files go to the test's own temporary folder, not the machine's."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))


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


async def _wait(generator: CrossHairGeneratorResource, handle: TaskHandle) -> TaskStatus:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        (status,) = await generator.poll([handle])
        if status.state.is_terminal:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"crosshair did not finish within {WAIT_S}s")


def test_the_resource_speaks_the_generator_protocol() -> None:
    generator = CrossHairGeneratorResource()
    assert isinstance(generator, GeneratorProtocol)
    assert generator.generator_name == "crosshair"


def test_submit_returns_at_once_and_collect_gives_one_runnable_pytest_file(tmp_path: Path) -> None:
    tree = _workspace(tmp_path, {"core": CORE})
    generator = CrossHairGeneratorResource(per_condition_timeout_s=1)

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
        tree,
        source_path=SOURCE_PATH,
        test_paths=[path],
        pythonpath="src",
        output_dir=tmp_path / "results",
        timeout_s=60,
    )
    assert run.passed >= 1 and run.failed == 0
    assert run.coverage is not None
    (core,) = [m for m in run.coverage.modules if m.path.endswith("core.py")]
    assert core.missing_lines == ()


def test_a_module_that_fails_to_import_fails_the_task_with_crosshairs_error(tmp_path: Path) -> None:
    broken = "import a_module_that_does_not_exist_anywhere\n\n\ndef f(x: int) -> int:\n    return x\n"
    tree = _workspace(tmp_path, {"broken": broken})
    generator = CrossHairGeneratorResource(per_condition_timeout_s=1)

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
    generator = CrossHairGeneratorResource(per_condition_timeout_s=1, time_budget_s=0.5)

    async def scenario() -> tuple[TaskStatus, int, float]:
        started = time.perf_counter()
        handle = await generator.submit(_task(tree, "slow"))
        status = await _wait(generator, handle)
        return status, int(handle.backend_id), time.perf_counter() - started

    status, pid, elapsed = asyncio.run(scenario())

    assert status.state is TaskState.FAILED
    assert "budget" in status.detail
    assert elapsed < 10
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_polling_a_task_it_never_submitted_fails_that_task() -> None:
    generator = CrossHairGeneratorResource()
    stranger = TaskHandle(task_id="elsewhere", backend_id="1", submitted_at=time.time())

    (status,) = asyncio.run(generator.poll([stranger]))

    assert status.state is TaskState.FAILED
    assert status.detail == "unknown task"
