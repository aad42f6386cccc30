"""The generator OpenHandsResource configures, against the real agent server 1.58.0 and a scripted model.

The agent loop, its tools, the workspace files, git and the cost accounting are all the real server's;
only the model is scripted (tests/support/scripted_llm.py). Needs `.venv-openhands`
(scripts/openhands_venv.sh): without it the module is skipped, unless OPENHANDS_REAL_REQUIRED=1 (set it in CI)
turns the missing install into errors. Both servers are stopped when the module ends, also on failure.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from resources.generators import OpenHandsResource
from spec2prod_assets.generation.backends.openhands.errors import OpenHandsHTTPError
from spec2prod_assets.generation.backends.openhands.generator import OpenHandsGenerator
from spec2prod_assets.generation.protocol import GenerationTask, TaskHandle, TaskState, TaskStatus
from spec2prod_assets.runtime.processes import clean_env, run_command
from tests.support.agent_server import AgentServer, missing_reason
from tests.support.scripted_llm import (
    PRICED_MODEL,
    Reply,
    Script,
    ScriptedLLM,
    create_file,
    endless_script,
    finish,
    locate_workspace,
    run,
    script_marker,
)

_MISSING = missing_reason()
pytestmark = [
    pytest.mark.openhands_real,
    pytest.mark.skipif(
        _MISSING is not None and os.environ.get("OPENHANDS_REAL_REQUIRED") != "1", reason=_MISSING or ""
    ),
]

LLM_KEY = "sk-scripted-llm-key-for-tests"
DONE_WITHIN_S = 90.0
PASSING_TEST = "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FAILING_TEST = "from calc.ops import add\n\n\ndef test_add_is_wrong():\n    assert add(2, 2) == 5\n"


def make_generator(
    agent_server: AgentServer, scripted_llm: ScriptedLLM, **overrides: Any
) -> OpenHandsGenerator:
    settings: dict[str, Any] = {
        "base_url": agent_server.base_url,
        "api_key": agent_server.api_key,
        "llm_model": PRICED_MODEL,
        "llm_api_key": LLM_KEY,
        "llm_base_url": scripted_llm.base_url,
        "working_root": str(agent_server.home / "workspaces"),
        "max_iterations": 10,
        "timeout_s": DONE_WITHIN_S,
        "request_timeout_s": 30.0,
    }
    settings.update(overrides)
    return OpenHandsResource(**settings).get_generator()


@pytest.fixture
def generator(agent_server: AgentServer, scripted_llm: ScriptedLLM) -> OpenHandsGenerator:
    return make_generator(agent_server, scripted_llm)


def make_task(root: Path, script: str) -> GenerationTask:
    workspace = root / script
    (workspace / "src" / "calc").mkdir(parents=True)
    (workspace / "src" / "calc" / "__init__.py").write_text("")
    (workspace / "src" / "calc" / "ops.py").write_text("def add(a, b):\n    return a + b\n")
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_ops.py").write_text(
        "from calc.ops import add\n\n\ndef test_one():\n    add(1, 1)\n"
    )
    return GenerationTask(
        task_id=f"calc-{script}",
        component="calc",
        module="src/calc/ops.py",
        import_name="calc.ops",
        instructions=f"FR-1: add returns the sum of two numbers. {script_marker(script)}",
        workspace_dir=str(workspace),
        source_path="src/calc",
        tests_path="tests",
    )


def until_done(generator: OpenHandsGenerator, handles: list[TaskHandle]) -> list[TaskStatus]:
    async def wait() -> list[TaskStatus]:
        deadline = time.monotonic() + DONE_WITHIN_S
        while True:
            statuses = await generator.poll(handles)
            if all(s.state.is_terminal for s in statuses) or time.monotonic() > deadline:
                return statuses
            await asyncio.sleep(0.5)

    return asyncio.run(wait())


def generate(generator: OpenHandsGenerator, task: GenerationTask) -> tuple[TaskHandle, TaskStatus]:
    handle = asyncio.run(generator.submit(task))
    (status,) = until_done(generator, [handle])
    return handle, status


def test_success_the_agent_writes_a_test_file_and_collect_returns_it(
    generator: OpenHandsGenerator, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["success"] = Script(
        (locate_workspace("tests"), create_file("tests/test_generated_ops.py", PASSING_TEST), finish())
    )

    handle, status = generate(generator, make_task(tmp_path, "success"))
    collected = asyncio.run(generator.collect(handle))

    assert status.state is TaskState.SUCCEEDED, status.detail
    assert status.cost_usd > 0
    assert status.prompt_tokens > 0 and status.completion_tokens > 0
    assert [(f.path, f.content) for f in collected.files] == [("tests/test_generated_ops.py", PASSING_TEST)]
    assert collected.rejected == ()
    assert f"Bearer {LLM_KEY}" in scripted_llm.authorizations


def test_a_failing_test_is_collected_for_the_funnel_to_reject(
    generator: OpenHandsGenerator, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["failing"] = Script(
        (locate_workspace("tests"), create_file("tests/test_generated_wrong.py", FAILING_TEST), finish())
    )
    task = make_task(tmp_path, "failing")

    handle, status = generate(generator, task)
    collected = asyncio.run(generator.collect(handle))

    assert status.state is TaskState.SUCCEEDED, status.detail
    assert [f.path for f in collected.files] == ["tests/test_generated_wrong.py"]
    generated = Path(task.workspace_dir) / collected.files[0].path
    generated.write_text(collected.files[0].content)
    result = run_command(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", collected.files[0].path],
        cwd=Path(task.workspace_dir),
        timeout_s=60,
        env=clean_env({"PYTHONPATH": "src"}),
    )
    assert result.exit_code == 1, result.tail()


def test_ending_without_a_finish_action_is_a_failure(
    generator: OpenHandsGenerator, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["nofinish"] = Script(
        (locate_workspace("tests"), create_file("tests/test_generated_ops.py", PASSING_TEST), Reply("Done."))
    )

    _, status = generate(generator, make_task(tmp_path, "nofinish"))

    assert (status.state, status.detail) == (TaskState.FAILED, "ended without FinishAction")


def test_reaching_max_iterations_is_a_failure_with_the_servers_reason(
    agent_server: AgentServer, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["endless"] = endless_script()
    generator = make_generator(agent_server, scripted_llm, max_iterations=3)

    _, status = generate(generator, make_task(tmp_path, "endless"))

    assert status.state is TaskState.FAILED
    assert status.detail.startswith("MaxIterationsReached"), status.detail


def test_writes_outside_the_tests_folder_are_rejected_in_collect(
    generator: OpenHandsGenerator, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["outside"] = Script(
        (
            locate_workspace("tests"),
            create_file("tests/test_generated_ops.py", PASSING_TEST),
            create_file("conftest.py", "import os\n"),
            run("echo 'def sub(a, b):' >> src/calc/ops.py && rm src/calc/__init__.py"),
            finish(),
        )
    )

    handle, status = generate(generator, make_task(tmp_path, "outside"))
    collected = asyncio.run(generator.collect(handle))

    assert status.state is TaskState.SUCCEEDED, status.detail
    assert [f.path for f in collected.files] == ["tests/test_generated_ops.py"]
    assert {r.path: r.reason for r in collected.rejected} == {
        "conftest.py": "outside the tests folder 'tests'",
        "src/calc/ops.py": "outside the tests folder 'tests'",
        "src/calc/__init__.py": "deleted by the agent",
    }


def test_several_conversations_are_polled_together(
    generator: OpenHandsGenerator, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["batch"] = Script((locate_workspace("tests"), finish()))
    handles = [asyncio.run(generator.submit(make_task(tmp_path / str(i), "batch"))) for i in range(3)]

    statuses = until_done(generator, handles)

    assert [s.state for s in statuses] == [TaskState.SUCCEEDED] * 3


def test_a_wrong_key_is_refused_by_the_real_server(
    agent_server: AgentServer, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    generator = make_generator(agent_server, scripted_llm, api_key="wrong-key")

    with pytest.raises(OpenHandsHTTPError) as raised:
        asyncio.run(generator.submit(make_task(tmp_path, "success")))

    assert raised.value.status == 401


def test_a_run_past_its_deadline_fails_and_is_paused(
    agent_server: AgentServer, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.scripts["deadline"] = endless_script()
    generator = make_generator(agent_server, scripted_llm, timeout_s=3.0, max_iterations=500)

    handle, status = generate(generator, make_task(tmp_path, "deadline"))

    assert status.state is TaskState.FAILED
    assert status.detail.startswith("deadline") and status.detail.endswith("paused it"), status.detail
    headers = {"X-Session-API-Key": agent_server.api_key}
    url = f"{agent_server.base_url}/api/conversations/{handle.backend_id}"
    deadline = time.monotonic() + 30
    while httpx.get(url, headers=headers, timeout=10).json()["execution_status"] != "paused":
        assert time.monotonic() < deadline, "the agent server did not pause the run"
        time.sleep(0.2)
