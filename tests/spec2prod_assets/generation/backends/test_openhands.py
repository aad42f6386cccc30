"""The OpenHands generator against the fault-injecting fake agent server, over real HTTP on loopback.

Each test states one scenario. Timeouts and backoff are tiny, so the failure paths run in milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from spec2prod_assets.generation import protocol as generation_protocol
from spec2prod_assets.generation.backends.openhands.client import check_transport
from spec2prod_assets.generation.backends.openhands.errors import (
    CircuitOpenError,
    OpenHandsError,
    OpenHandsHTTPError,
    OpenHandsInsecure,
    OpenHandsProtocolError,
    OpenHandsTimeout,
    OpenHandsUnavailable,
)
from spec2prod_assets.generation.backends.openhands.generator import MAX_CHANGED_FILES, OpenHandsGenerator
from spec2prod_assets.generation.backends.openhands.settings import OpenHandsSettings
from spec2prod_assets.generation.protocol import GenerationTask, GeneratorError, TaskHandle, TaskState
from tests.support.fake_openhands import (
    API_KEY,
    FakeOpenHands,
    Fault,
    Outcome,
    ends_in,
    ends_without_finish,
    fake_fixture,  # noqa: F401 -- a fixture: pytest finds it here
    fresh_circuit_breakers,  # noqa: F401 -- an autouse fixture
    hits_max_iterations,
    running_fake_openhands,
    runs_forever,
    writes_tests,
)

LLM_KEY = "sk-llm-91bd04-never-print-me"
WORKING_ROOT = "/agent-host/workspaces"
GENERATED_TEST = "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Each call on a fresh event loop, as Dagster may do between steps."""
    return asyncio.run(coroutine)


def make_settings(base_url: str, **overrides: Any) -> OpenHandsSettings:
    """Settings for tests: tiny timeouts and backoff, a breaker that stays closed; `overrides` win."""
    settings: dict[str, Any] = {
        "base_url": base_url,
        "api_key": API_KEY,
        "auth_scheme": "session_key",
        "llm_model": "openai/gpt-4o",
        "llm_api_key": LLM_KEY,
        "llm_base_url": "http://127.0.0.1:9/v1",
        "working_root": WORKING_ROOT,
        "timeout_s": 60.0,
        "request_timeout_s": 0.5,
        "max_iterations": 50,
        "max_retries": 3,
        "backoff_s": 0.01,
        "backoff_max_s": 0.05,
        "circuit_breaker_threshold": 20,
        "circuit_breaker_reset_s": 30.0,
        "allow_insecure": False,
    }
    settings.update(overrides)
    return OpenHandsSettings(**settings)


def make_generator(fake: FakeOpenHands, **overrides: Any) -> OpenHandsGenerator:
    """A generator for the fake; `overrides` may still point it elsewhere (`base_url`)."""
    return OpenHandsGenerator(make_settings(**{"base_url": fake.url, **overrides}))


@pytest.fixture
def generator(fake: FakeOpenHands) -> OpenHandsGenerator:
    return make_generator(fake)


def make_task(root: Path, task_id: str = "calc-ops") -> GenerationTask:
    workspace = root / task_id
    (workspace / "src" / "calc").mkdir(parents=True)
    (workspace / "src" / "calc" / "ops.py").write_text("def add(a, b):\n    return a + b\n")
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_ops.py").write_text("def test_nothing():\n    pass\n")
    (workspace / "src" / "calc" / "__pycache__").mkdir()
    (workspace / "src" / "calc" / "__pycache__" / "ops.cpython-311.pyc").write_bytes(b"\x00junk")
    return GenerationTask(
        task_id=task_id,
        component="calc",
        module="src/calc/ops.py",
        import_name="calc.ops",
        instructions="FR-1: add two numbers.",
        workspace_dir=str(workspace),
        source_path="src/calc",
        tests_path="tests",
    )


@pytest.fixture
def task(tmp_path: Path) -> GenerationTask:
    return make_task(tmp_path)


def poll_one(generator: OpenHandsGenerator, handle: TaskHandle) -> Any:
    return run(generator.poll([handle]))[0]


# -- the protocol, end to end --------------------------------------------------------------------------


def test_the_generator_speaks_the_protocol(generator: OpenHandsGenerator) -> None:
    assert isinstance(generator, generation_protocol.TestGenerator)
    assert generator.generator_name == "openhands"


def test_success_submit_returns_at_once_then_poll_and_collect_keep_the_test_file(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.outcomes["calc-ops"] = writes_tests({"tests/test_generated_ops.py": GENERATED_TEST})

    handle = run(generator.submit(task))

    conversation = fake.conversations[handle.backend_id]
    assert conversation.execution_status == "idle"  # submit did not wait for the agent
    assert handle.task_id == "calc-ops"
    first = poll_one(generator, handle)
    assert first.state is TaskState.RUNNING
    done = poll_one(generator, handle)
    assert done.state is TaskState.SUCCEEDED, done.detail
    assert done.link == f"{fake.url}/api/conversations/{handle.backend_id}"
    collected = run(generator.collect(handle))
    assert [(f.path, f.content) for f in collected.files] == [("tests/test_generated_ops.py", GENERATED_TEST)]
    assert collected.rejected == ()


def test_submit_uploads_the_workspace_and_commits_it_before_starting_the_agent(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    handle = run(generator.submit(task))

    workspace = fake.conversations[handle.backend_id].working_dir
    assert workspace.startswith(f"{WORKING_ROOT}/calc-ops-")
    assert set(fake.commits[workspace]) == {"src/calc/ops.py", "tests/test_ops.py"}
    order = [r.path for r in fake.requests]
    assert order.index("/api/bash/execute_bash_command") < order.index("/api/conversations")
    request = fake.conversations[handle.backend_id].request
    assert request["initial_message"]["run"] is True
    assert "FR-1: add two numbers." in request["initial_message"]["content"][0]["text"]
    assert request["tags"]["testspath"] == "tests"
    assert [tool["name"] for tool in request["agent"]["tools"]] == ["terminal", "file_editor"]


def test_each_submit_gets_its_own_workspace(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    first = run(generator.submit(task))
    second = run(generator.submit(task))

    assert first.backend_id != second.backend_id
    assert (
        fake.conversations[first.backend_id].working_dir != fake.conversations[second.backend_id].working_dir
    )


def test_a_failing_git_baseline_fails_the_submit(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.bash_exit_code = 128

    with pytest.raises(OpenHandsError, match="could not make the workspace a git repository"):
        run(generator.submit(task))
    assert fake.calls("POST", "/api/conversations") == []


def test_several_tasks_are_polled_in_one_request(
    fake: FakeOpenHands, generator: OpenHandsGenerator, tmp_path: Path
) -> None:
    handles = [run(generator.submit(make_task(tmp_path, f"calc-m{i}"))) for i in range(3)]

    statuses = run(generator.poll(handles))

    assert [s.task_id for s in statuses] == ["calc-m0", "calc-m1", "calc-m2"]
    batch_calls = fake.calls("GET", "/api/conversations")
    assert len(batch_calls) == 1
    assert batch_calls[0].values("ids") == [h.backend_id for h in handles]


def test_idle_before_the_run_starts_is_not_done(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.default_outcome = runs_forever()
    handle = run(generator.submit(task))

    assert poll_one(generator, handle).state is TaskState.RUNNING
    assert poll_one(generator, handle).state is TaskState.RUNNING


# -- outcomes that are failures --------------------------------------------------------------------------


def test_finished_without_finish_action_is_a_failure(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.default_outcome = ends_without_finish({"tests/test_generated_ops.py": GENERATED_TEST})
    handle = run(generator.submit(task))
    poll_one(generator, handle)

    status = poll_one(generator, handle)

    assert status.state is TaskState.FAILED
    assert status.detail == "ended without FinishAction"


def test_max_iterations_is_a_failure_with_the_servers_reason(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.default_outcome = hits_max_iterations(50)
    handle = run(generator.submit(task))
    poll_one(generator, handle)

    status = poll_one(generator, handle)

    assert status.state is TaskState.FAILED
    assert status.detail.startswith("MaxIterationsReached: Agent reached maximum iterations limit (50)")


@pytest.mark.parametrize(
    ("execution_status", "detail"),
    [("stuck", "stuck"), ("waiting_for_confirmation", "needs input"), ("deleting", "being deleted")],
)
def test_blocked_or_stuck_conversations_fail_with_distinct_reasons(
    fake: FakeOpenHands,
    generator: OpenHandsGenerator,
    task: GenerationTask,
    execution_status: str,
    detail: str,
) -> None:
    fake.default_outcome = ends_in(execution_status)
    handle = run(generator.submit(task))
    poll_one(generator, handle)

    status = poll_one(generator, handle)

    assert status.state is TaskState.FAILED
    assert detail in status.detail


def test_past_the_deadline_a_running_task_fails_and_is_paused(
    fake: FakeOpenHands, task: GenerationTask
) -> None:
    fake.default_outcome = runs_forever()
    generator = make_generator(fake, timeout_s=0.2)
    handle = run(generator.submit(task))
    time.sleep(0.25)

    status = poll_one(generator, handle)

    assert status.state is TaskState.FAILED
    assert status.detail.startswith("deadline")
    assert fake.conversations[handle.backend_id].execution_status == "paused"


def test_a_conversation_deleted_mid_poll_fails_that_task_only(
    fake: FakeOpenHands, generator: OpenHandsGenerator, tmp_path: Path
) -> None:
    fake.default_outcome = runs_forever()
    gone, kept = (run(generator.submit(make_task(tmp_path, name))) for name in ("calc-a", "calc-b"))
    fake.forget(gone.backend_id)

    statuses = run(generator.poll([gone, kept]))

    assert [(s.state, s.detail) for s in statuses] == [
        (TaskState.FAILED, "conversation not found"),
        (TaskState.RUNNING, "running"),
    ]


def test_a_404_on_the_events_mid_poll_fails_that_task(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    handle = run(generator.submit(task))
    poll_one(generator, handle)
    fake.inject(Fault("GET", f"/api/conversations/{handle.backend_id}/events", status=404))

    status = poll_one(generator, handle)

    assert (status.state, status.detail) == (TaskState.FAILED, "conversation not found")


# -- collect ---------------------------------------------------------------------------------------------


def test_collect_rejects_everything_but_new_or_changed_python_files_in_the_tests_folder(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.default_outcome = writes_tests(
        {
            "tests/test_generated_ops.py": GENERATED_TEST,
            "tests/test_ops.py": "def test_changed():\n    pass\n",
            "src/calc/ops.py": "def add(a, b):\n    return 42\n",
            "conftest.py": "import os\n",
            "tests/fixtures.json": "{}",
        },
        deletes=("src/calc/__init__.py",),
        spoofed_changes=(
            ("ADDED", "../escape.py"),
            ("ADDED", "/etc/cron.d/evil.py"),
            ("MOVED", "tests/x.py"),
        ),
    )
    handle = run(generator.submit(task))
    poll_one(generator, handle)
    poll_one(generator, handle)

    collected = run(generator.collect(handle))

    assert sorted(f.path for f in collected.files) == ["tests/test_generated_ops.py", "tests/test_ops.py"]
    reasons = {r.path: r.reason for r in collected.rejected}
    assert reasons == {
        "src/calc/ops.py": "outside the tests folder 'tests'",
        "conftest.py": "outside the tests folder 'tests'",
        "tests/fixtures.json": "not a Python file",
        "../escape.py": "path escapes with '..'",
        "/etc/cron.d/evil.py": "absolute path",
        "tests/x.py": "moved by the agent",
    }
    downloads = [r.values("path")[0] for r in fake.calls("GET", "/api/file/download")]
    assert all(path.endswith(("tests/test_generated_ops.py", "tests/test_ops.py")) for path in downloads)


def test_collect_reports_a_deleted_file(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.default_outcome = Outcome(deletes=("tests/test_ops.py",))
    handle = run(generator.submit(task))
    poll_one(generator, handle)
    poll_one(generator, handle)

    collected = run(generator.collect(handle))

    assert collected.files == ()
    assert [(r.path, r.reason) for r in collected.rejected] == [("tests/test_ops.py", "deleted by the agent")]


# -- cost ------------------------------------------------------------------------------------------------


def test_cost_and_tokens_are_summed_over_usage_ids(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.default_outcome = writes_tests(
        {}, usage={"agent": (0.01, 1000, 100), "condenser": (0.0025, 300, 30)}
    )
    handle = run(generator.submit(task))
    poll_one(generator, handle)

    status = poll_one(generator, handle)

    assert status.cost_usd == pytest.approx(0.0125)
    assert (status.prompt_tokens, status.completion_tokens) == (1300, 130)


# -- faults ----------------------------------------------------------------------------------------------


def test_a_wrong_key_is_unauthorized_and_not_retried(fake: FakeOpenHands, task: GenerationTask) -> None:
    generator = make_generator(fake, api_key="not-the-key")

    with pytest.raises(OpenHandsHTTPError) as raised:
        run(generator.submit(task))

    assert raised.value.status == 401
    assert str(raised.value) == "unauthorized: check OPENHANDS_API_KEY"
    assert len(fake.calls("POST", "/api/file/upload")) == 2  # one try per file: a 401 is not retried


def test_bearer_auth_is_sent_as_an_authorization_header(task: GenerationTask) -> None:
    with running_fake_openhands(api_key=API_KEY, auth_scheme="bearer") as fake:
        generator = make_generator(fake, auth_scheme="bearer")

        handle = run(generator.submit(task))

        assert poll_one(generator, handle).state is TaskState.RUNNING


def test_429_is_retried_after_the_servers_retry_after(fake: FakeOpenHands, task: GenerationTask) -> None:
    generator = make_generator(fake, backoff_max_s=2.0)
    fake.inject(Fault("POST", "/api/conversations", status=429, retry_after="0.4"))

    started = time.monotonic()
    handle = run(generator.submit(task))

    assert time.monotonic() - started >= 0.4
    assert len(fake.calls("POST", "/api/conversations")) == 2
    assert handle.backend_id in fake.conversations


def test_500s_then_success_are_retried(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    handle = run(generator.submit(task))
    fake.inject(Fault("GET", "/api/conversations", status=500, times=2))

    status = poll_one(generator, handle)

    assert status.state is TaskState.RUNNING
    assert len(fake.calls("GET", "/api/conversations")) == 3


def test_500s_past_the_retry_budget_raise_with_the_status(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    handle = run(generator.submit(task))
    fake.inject(Fault("GET", "/api/conversations", status=503, times=100))

    with pytest.raises(OpenHandsHTTPError) as raised:
        poll_one(generator, handle)

    assert raised.value.status == 503
    assert len(fake.calls("GET", "/api/conversations")) == generator.settings.max_retries + 1


def test_other_4xx_are_fatal_with_the_servers_detail(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.inject(Fault("POST", "/api/conversations", status=422))

    with pytest.raises(OpenHandsHTTPError) as raised:
        run(generator.submit(task))

    assert raised.value.status == 422
    assert "injected validation error" in str(raised.value)
    assert len(fake.calls("POST", "/api/conversations")) == 1


def test_a_slow_answer_past_the_timeout_is_retried(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    handle = run(generator.submit(task))
    fake.inject(Fault("GET", "/api/conversations", delay_s=1.5))

    assert poll_one(generator, handle).state is TaskState.RUNNING
    assert len(fake.calls("GET", "/api/conversations")) == 2


def test_a_server_that_is_always_too_slow_raises_a_timeout_in_bounded_time(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    handle = run(generator.submit(task))
    fake.inject(Fault("GET", "/api/conversations", delay_s=1.5, times=100))

    started = time.monotonic()
    with pytest.raises(OpenHandsTimeout):
        poll_one(generator, handle)

    assert (
        time.monotonic() - started
        < 2 * (generator.settings.max_retries + 1) * generator.settings.request_timeout_s
    )


def test_malformed_json_is_a_protocol_error(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    handle = run(generator.submit(task))
    fake.inject(Fault("GET", "/api/conversations", malformed=True))

    with pytest.raises(OpenHandsProtocolError, match="malformed JSON"):
        poll_one(generator, handle)


def test_a_retried_submit_whose_answer_was_lost_starts_one_run(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    # The server starts the conversation, but its answer comes after the client gave up and retried.
    fake.inject(Fault("POST", "/api/conversations", delay_s=1.5, after_handling=True))

    handle = run(generator.submit(task))

    assert len(fake.calls("POST", "/api/conversations")) == 2
    assert list(fake.conversations) == [handle.backend_id]
    assert fake.runs_started == 1


# -- circuit breaker -------------------------------------------------------------------------------------


def test_a_server_stopped_mid_run_opens_the_circuit_and_calls_then_fail_fast(
    fake: FakeOpenHands, task: GenerationTask
) -> None:
    generator = make_generator(fake, circuit_breaker_threshold=3, max_retries=5)
    handle = run(generator.submit(task))
    fake.stop()

    with pytest.raises(OpenHandsUnavailable) as first:
        poll_one(generator, handle)
    started = time.monotonic()
    with pytest.raises(CircuitOpenError, match="circuit open"):
        poll_one(generator, handle)

    assert isinstance(first.value, CircuitOpenError)  # opened during the retries of the first poll
    assert time.monotonic() - started < 0.5
    assert isinstance(first.value, GeneratorError)


def test_an_open_circuit_does_not_hit_the_server(fake: FakeOpenHands, task: GenerationTask) -> None:
    generator = make_generator(fake, circuit_breaker_threshold=3, max_retries=1)
    handle = run(generator.submit(task))
    fake.inject(Fault("GET", "/api/conversations", status=500, times=100))
    with pytest.raises(OpenHandsHTTPError):
        poll_one(generator, handle)  # two failed calls
    with pytest.raises(CircuitOpenError):
        poll_one(generator, handle)  # the third opens it; its retry is refused without a call
    seen = len(fake.requests)

    with pytest.raises(CircuitOpenError):
        run(generator.collect(handle))

    assert len(fake.requests) == seen


def test_the_circuit_lets_a_trial_call_through_after_the_reset_time(
    fake: FakeOpenHands, task: GenerationTask
) -> None:
    generator = make_generator(fake, circuit_breaker_threshold=2, max_retries=1, circuit_breaker_reset_s=0.2)
    handle = run(generator.submit(task))
    fake.inject(Fault("GET", "/api/conversations", status=500, times=2))
    with pytest.raises(OpenHandsHTTPError):
        poll_one(generator, handle)
    with pytest.raises(CircuitOpenError):
        poll_one(generator, handle)

    time.sleep(0.25)

    assert poll_one(generator, handle).state is TaskState.RUNNING


def test_the_circuit_is_shared_by_generators_for_the_same_server(
    fake: FakeOpenHands, task: GenerationTask
) -> None:
    first = make_generator(fake, circuit_breaker_threshold=2, max_retries=1)
    handle = run(first.submit(task))
    fake.inject(Fault("GET", "/api/conversations", status=500, times=100))
    with pytest.raises(OpenHandsHTTPError):
        poll_one(first, handle)

    with pytest.raises(CircuitOpenError):
        poll_one(make_generator(fake, circuit_breaker_threshold=2, max_retries=1), handle)


# -- secrets ---------------------------------------------------------------------------------------------


def test_keys_never_appear_in_errors_logs_statuses_or_reprs(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # FastAPI's 422 echoes the request body, LLM key included.
    fake.inject(Fault("POST", "/api/conversations", status=422))
    with pytest.raises(OpenHandsHTTPError) as rejected:
        run(generator.submit(task))
    fake.inject(Fault("POST", "/api/conversations", status=500, times=100))
    with pytest.raises(OpenHandsHTTPError) as failed:
        run(generator.submit(task))

    texts = [
        str(rejected.value),
        repr(rejected.value),
        rejected.value.detail,
        str(failed.value),
        repr(generator.settings),
        str(generator.settings),
        caplog.text,
    ]
    assert "[redacted]" in rejected.value.detail
    assert "retry 1 of 3" in caplog.text  # the retries were logged, and the check below means something
    for text in texts:
        assert API_KEY not in text
        assert LLM_KEY not in text


def test_keys_never_appear_in_task_statuses(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.default_outcome = hits_max_iterations()
    handle = run(generator.submit(task))
    statuses = run(generator.poll([handle])) + run(generator.poll([handle]))

    dumped = "".join(s.model_dump_json() for s in statuses) + handle.model_dump_json()

    assert API_KEY not in dumped
    assert LLM_KEY not in dumped


def test_the_servers_stderr_from_the_git_set_up_is_redacted(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.bash_exit_code = 128
    fake.bash_stderr = f"fatal: could not read config (env: KEY={API_KEY} LLM={LLM_KEY})"

    with pytest.raises(OpenHandsError) as raised:
        run(generator.submit(task))

    assert "could not make the workspace a git repository" in str(raised.value)
    assert "[redacted]" in str(raised.value)
    assert API_KEY not in str(raised.value)
    assert LLM_KEY not in str(raised.value)


def test_a_key_with_a_trailing_newline_is_still_redacted(
    fake: FakeOpenHands, task: GenerationTask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    generator = make_generator(fake, llm_api_key=LLM_KEY + "\n")
    fake.inject(Fault("POST", "/api/conversations", status=422))  # echoes the body, key included

    with pytest.raises(OpenHandsHTTPError) as raised:
        run(generator.submit(task))

    assert "[redacted]" in raised.value.detail
    assert LLM_KEY not in str(raised.value)
    assert LLM_KEY not in caplog.text


def test_credentials_in_the_server_url_never_reach_links_errors_or_logs(
    fake: FakeOpenHands, task: GenerationTask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "url-pass-5e1d-never-print-me"
    url = fake.url.replace("http://", f"http://spec2prod:{password}@")
    generator = make_generator(fake, base_url=url, circuit_breaker_threshold=2, max_retries=1)
    fake.default_outcome = hits_max_iterations()
    handle = run(generator.submit(task))
    statuses = run(generator.poll([handle])) + run(generator.poll([handle]))
    fake.inject(Fault("GET", "/api/conversations", status=500, times=100))
    with pytest.raises(OpenHandsHTTPError):
        poll_one(generator, handle)
    with pytest.raises(CircuitOpenError) as opened:
        poll_one(generator, handle)

    links = [s.link or "" for s in statuses]
    assert all(link.startswith("http://127.0.0.1:") for link in links)
    for text in [*links, *(s.model_dump_json() for s in statuses), str(opened.value), caplog.text]:
        assert password not in text
        assert "spec2prod:" not in text


def test_keys_over_plain_http_to_a_remote_host_are_refused_before_any_call(task: GenerationTask) -> None:
    generator = OpenHandsGenerator(make_settings("http://10.255.255.1:8000"))

    started = time.monotonic()
    with pytest.raises(OpenHandsInsecure) as refused:
        run(generator.submit(task))

    assert time.monotonic() - started < 1.0  # refused, not a connection attempt timing out
    message = str(refused.value)
    assert "plain HTTP" in message and "10.255.255.1" in message and "OPENHANDS_ALLOW_INSECURE=1" in message
    handle = TaskHandle(task_id="t", backend_id="x", submitted_at=0)
    assert run(generator.cancel(handle)).startswith("could not pause it (refusing")


def test_url_credentials_over_plain_http_to_a_remote_host_are_refused() -> None:
    settings = make_settings("http://user:pw@agents.example.com", api_key=None, llm_api_key=None)

    with pytest.raises(OpenHandsInsecure):
        check_transport(settings)


def test_plain_http_to_a_remote_host_is_allowed_when_the_user_opts_in() -> None:
    check_transport(make_settings("http://10.255.255.1:8000", allow_insecure=True))


@pytest.mark.parametrize(
    "url", ["https://agents.example.com", "http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:2"]
)
def test_https_or_loopback_servers_need_no_opt_in(url: str) -> None:
    check_transport(make_settings(url))


# -- timeouts and sizes ----------------------------------------------------------------------------------


def test_request_timeout_bounds_the_whole_call_not_each_read(
    fake: FakeOpenHands, task: GenerationTask
) -> None:
    generator = make_generator(fake, request_timeout_s=1.0, max_retries=0)
    handle = run(generator.submit(task))
    fake.inject(Fault("GET", "/api/conversations", drip_s=0.5))  # a byte every 0.5 s, for 15 s

    started = time.monotonic()
    with pytest.raises(OpenHandsTimeout, match="no answer within 1"):
        poll_one(generator, handle)

    assert time.monotonic() - started < 3.0


def test_a_response_past_the_size_limit_is_refused_while_streaming(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    handle = run(generator.submit(task))
    huge = fake.inject(Fault("GET", "/api/conversations", stream_bytes=50_000_000))

    with pytest.raises(OpenHandsProtocolError, match="larger than"):
        poll_one(generator, handle)

    assert huge.bytes_sent < 25_000_000  # the client hung up; it did not read 50 MB
    assert len(fake.calls("GET", "/api/conversations")) == 1  # not retried


def test_a_huge_generated_file_is_rejected_without_downloading_it_whole(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    fake.default_outcome = writes_tests(
        {"tests/test_huge.py": "#" * 50_000_000, "tests/test_ops_gen.py": GENERATED_TEST}
    )
    handle = run(generator.submit(task))
    poll_one(generator, handle)
    poll_one(generator, handle)

    collected = run(generator.collect(handle))

    assert [f.path for f in collected.files] == ["tests/test_ops_gen.py"]
    assert [(r.path, r.reason) for r in collected.rejected] == [
        ("tests/test_huge.py", "larger than 1000000 bytes")
    ]
    assert fake.download_bytes_sent < 25_000_000


def test_the_number_of_changed_files_collected_per_task_is_bounded(
    fake: FakeOpenHands, generator: OpenHandsGenerator, task: GenerationTask
) -> None:
    extra = 5
    fake.default_outcome = writes_tests(
        {f"tests/test_gen_{n:04d}.py": GENERATED_TEST for n in range(MAX_CHANGED_FILES + extra)}
    )
    handle = run(generator.submit(task))
    poll_one(generator, handle)
    poll_one(generator, handle)

    collected = run(generator.collect(handle))

    assert len(collected.files) == MAX_CHANGED_FILES
    assert len(fake.calls("GET", "/api/file/download")) == MAX_CHANGED_FILES
    (over,) = collected.rejected
    assert over.reason == f"over the limit of {MAX_CHANGED_FILES} changed files per task"
    assert over.path == f"{extra} more changed file(s), not collected"


def test_cancel_past_the_deadline_is_bounded_by_one_request_timeout(
    fake: FakeOpenHands, task: GenerationTask
) -> None:
    generator = make_generator(fake, request_timeout_s=0.5, max_retries=3)
    handle = run(generator.submit(task))
    fake.inject(Fault("POST", "/api/conversations", delay_s=5.0, times=100))

    started = time.monotonic()
    said = run(generator.cancel(handle))

    assert time.monotonic() - started < 1.0
    assert said.startswith("could not pause it")
