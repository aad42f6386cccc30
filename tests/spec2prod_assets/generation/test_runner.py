"""The generation runner with fake backends: how it submits, polls, collects, and degrades."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import pytest

from spec2prod_assets.generation.protocol import (
    GeneratedFile,
    GeneratedFiles,
    GenerationTask,
    RejectedPath,
    TaskState,
)
from spec2prod_assets.generation.protocol import TestGenerator as GeneratorProtocol
from spec2prod_assets.generation.runner import GenerationResult, _enforce_tests_folder, generate
from tests.support.fake_generators import (
    CrashingGenerator,
    NeverFinishingGenerator,
    Script,
    ScriptedGenerator,
    SlowToCancelGenerator,
)

LOGGER = "tests.generation_runner"
TESTS_PATH = "tests/calc"


def _task(task_id: str) -> GenerationTask:
    return GenerationTask(
        task_id=task_id,
        component="calc",
        module=f"src/calc/{task_id}.py",
        import_name=f"calc.{task_id}",
        instructions="Write tests.",
        workspace_dir="workspace",
        source_path="src/calc",
        tests_path=TESTS_PATH,
        uncovered_lines=(3, 4),
    )


def _file(name: str) -> GeneratedFile:
    return GeneratedFile(path=f"{TESTS_PATH}/{name}", content="def test_x():\n    assert True\n")


def _generate(
    generator: GeneratorProtocol,
    task_ids: Sequence[str],
    *,
    poll_interval_s: float = 0.01,
    deadline_s: float = 10.0,
) -> GenerationResult:
    return asyncio.run(
        generate(
            generator,
            [_task(t) for t in task_ids],
            poll_interval_s=poll_interval_s,
            deadline_s=deadline_s,
            log=logging.getLogger(LOGGER),
        )
    )


def test_fake_generators_satisfy_the_protocol() -> None:
    assert isinstance(ScriptedGenerator(), GeneratorProtocol)
    assert isinstance(NeverFinishingGenerator(), GeneratorProtocol)
    assert isinstance(CrashingGenerator(), GeneratorProtocol)


def test_every_task_is_submitted_before_the_first_poll() -> None:
    generator = ScriptedGenerator()

    outcome = _generate(generator, ["a", "b", "c"])

    kinds = [kind for kind, _ in generator.calls]
    first_poll = kinds.index("poll")
    assert kinds[:first_poll] == ["submit"] * 3
    assert "submit" not in kinds[first_poll:]
    assert outcome.tasks_submitted == 3
    assert [h.task_id for h in outcome.handles] == ["a", "b", "c"]


def test_submissions_run_concurrently_not_one_after_another() -> None:
    generator = ScriptedGenerator(submit_delay_s=0.3)

    started = time.perf_counter()
    outcome = _generate(generator, ["a", "b", "c", "d", "e"])

    assert time.perf_counter() - started < 1.0  # five sequential submits would take 1.5s
    assert outcome.submission_s < 1.0
    assert outcome.tasks_succeeded == 5


def test_pending_tasks_are_polled_together_in_one_call_per_round() -> None:
    scripts = {"a": Script(polls_to_finish=1), "b": Script(polls_to_finish=2), "c": Script(polls_to_finish=3)}
    generator = ScriptedGenerator(scripts=scripts)

    _generate(generator, ["a", "b", "c"])

    polls = [ids for kind, ids in generator.calls if kind == "poll"]
    assert polls == [("a", "b", "c"), ("b", "c"), ("c",)]


def test_progress_is_logged_while_waiting(caplog: pytest.LogCaptureFixture) -> None:
    scripts = {"a": Script(polls_to_finish=1), "b": Script(polls_to_finish=2), "c": Script(polls_to_finish=3)}

    with caplog.at_level(logging.INFO, logger=LOGGER):
        _generate(ScriptedGenerator(scripts=scripts), ["a", "b", "c"])

    progress = [r.getMessage() for r in caplog.records if "tasks done" in r.getMessage()]
    assert progress == ["1 of 3 tasks done", "2 of 3 tasks done", "3 of 3 tasks done"]


def test_successful_tasks_are_collected_with_their_cost_and_tokens() -> None:
    scripts = {
        "a": Script(files=(_file("test_a.py"),), cost_usd=0.25, tokens=100),
        "b": Script(files=(_file("test_b.py"),), cost_usd=0.5, tokens=50),
    }

    outcome = _generate(ScriptedGenerator(scripts=scripts, name="scripted-backend"), ["a", "b"])

    assert outcome.generator == "scripted-backend"
    assert outcome.tasks_succeeded == 2
    assert [f.path for files in outcome.files for f in files.files] == [
        f"{TESTS_PATH}/test_a.py",
        f"{TESTS_PATH}/test_b.py",
    ]
    assert outcome.cost_usd == 0.75
    assert outcome.tokens == 150
    assert outcome.degraded_reason is None


def test_a_generator_that_never_finishes_fails_at_the_deadline_and_the_call_returns() -> None:
    generator = NeverFinishingGenerator()

    started = time.perf_counter()
    outcome = _generate(generator, ["a", "b"], poll_interval_s=0.05, deadline_s=0.4)
    elapsed = time.perf_counter() - started

    assert 0.4 <= elapsed < 3.0
    assert [s.state for s in outcome.statuses] == [TaskState.FAILED, TaskState.FAILED]
    assert all(s.detail.startswith("deadline") for s in outcome.statuses)
    assert outcome.tasks_succeeded == 0
    assert outcome.files == ()
    assert outcome.degraded_reason is not None and "deadline" in outcome.degraded_reason
    assert not any(kind == "collect" for kind, _ in generator.calls)


def test_a_cancel_that_hangs_after_the_deadline_is_cut_off_by_the_wall_clock_limit() -> None:
    generator = SlowToCancelGenerator(cancel_s=30.0)

    started = time.perf_counter()
    outcome = asyncio.run(
        generate(
            generator,
            [_task("a"), _task("b")],
            poll_interval_s=0.05,
            deadline_s=0.3,
            log=logging.getLogger(LOGGER),
            cancel_timeout_s=0.5,
        )
    )
    elapsed = time.perf_counter() - started

    assert elapsed < 3.0  # deadline + one cancel limit (the cancels run together), not 2 x 30 s
    assert [kind for kind, _ in generator.calls].count("cancel") == 2
    assert all(s.state is TaskState.FAILED for s in outcome.statuses)
    assert all("cancel did not finish within 0.5s" in s.detail for s in outcome.statuses)


def test_a_generator_whose_submit_raises_degrades_with_the_reason_and_no_files(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        outcome = _generate(CrashingGenerator(), ["a", "b"])

    assert outcome.degraded_reason is not None
    assert outcome.degraded_reason.startswith("submit failed")
    assert "connection refused" in outcome.degraded_reason
    assert outcome.files == ()
    assert outcome.tasks_succeeded == 0
    assert outcome.generator == "crashing"
    assert any("connection refused" in r.getMessage() for r in caplog.records)


def test_a_generator_whose_poll_raises_degrades_with_the_reason() -> None:
    generator = ScriptedGenerator(poll_error="status endpoint answered 503")

    outcome = _generate(generator, ["a", "b"])

    assert outcome.degraded_reason == "poll failed: status endpoint answered 503"
    assert outcome.files == ()
    assert outcome.tasks_succeeded == 0
    assert [h.task_id for h in outcome.handles] == ["a", "b"]  # what was submitted stays traceable


def test_collect_failing_for_one_task_fails_that_task_and_keeps_the_others() -> None:
    scripts = {
        "a": Script(files=(_file("test_a.py"),)),
        "b": Script(collect_error="workspace download failed"),
        "c": Script(files=(_file("test_c.py"),)),
    }

    outcome = _generate(ScriptedGenerator(scripts=scripts), ["a", "b", "c"])

    states = {s.task_id: (s.state, s.detail) for s in outcome.statuses}
    assert states["a"][0] is TaskState.SUCCEEDED
    assert states["c"][0] is TaskState.SUCCEEDED
    assert states["b"] == (TaskState.FAILED, "collect failed: workspace download failed")
    assert outcome.tasks_succeeded == 2
    assert [files.task_id for files in outcome.files] == ["a", "c"]
    assert outcome.degraded_reason is None


def test_a_task_the_backend_reports_failed_is_not_collected() -> None:
    scripts = {"a": Script(final_state=TaskState.FAILED), "b": Script(files=(_file("test_b.py"),))}
    generator = ScriptedGenerator(scripts=scripts)

    outcome = _generate(generator, ["a", "b"])

    assert ("collect", ("a",)) not in generator.calls
    assert outcome.tasks_succeeded == 1
    assert [files.task_id for files in outcome.files] == ["b"]


def test_paths_outside_the_tests_folder_from_a_backend_are_rejected() -> None:
    escaping = ("/tmp/test_abs.py", f"{TESTS_PATH}/../../src/calc/test_up.py", "src/calc/test_in_src.py")
    already_refused = RejectedPath(path="../outside.py", reason="refused by the backend")
    scripts = {
        "a": Script(
            files=(*(GeneratedFile(path=p, content="x = 1\n") for p in escaping), _file("test_ok.py")),
            rejected=(already_refused,),
        )
    }

    outcome = _generate(ScriptedGenerator(scripts=scripts), ["a"])

    (collected,) = outcome.files
    assert [f.path for f in collected.files] == [f"{TESTS_PATH}/test_ok.py"]
    reasons = {r.path: r.reason for r in collected.rejected}
    assert reasons == {
        "../outside.py": "refused by the backend",
        "/tmp/test_abs.py": "absolute path",
        f"{TESTS_PATH}/../../src/calc/test_up.py": "path escapes with '..'",
        "src/calc/test_in_src.py": f"outside the tests folder {TESTS_PATH!r}",
    }


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/etc/test_x.py", "absolute path"),
        ("C:/temp/test_x.py", "absolute path"),
        ("tests\\calc\\..\\..\\setup.py", "path escapes with '..'"),
        ("tests/calc/../calc/test_x.py", "path escapes with '..'"),
        ("src/calc/test_x.py", "outside the tests folder 'tests/calc'"),
        ("tests/calculator/test_x.py", "outside the tests folder 'tests/calc'"),
        ("tests/calc", "outside the tests folder 'tests/calc'"),
        ("tests/calc/data.json", "not a Python file"),
    ],
)
def test_enforce_tests_folder_rejects_each_kind_of_escape(path: str, reason: str) -> None:
    collected = GeneratedFiles(task_id="a", files=(GeneratedFile(path=path, content=""),))

    enforced = _enforce_tests_folder(collected, _task("a"))

    assert enforced.files == ()
    assert [(r.path, r.reason) for r in enforced.rejected] == [(path, reason)]


def test_enforce_tests_folder_keeps_nested_test_files() -> None:
    nested = GeneratedFile(path=f"{TESTS_PATH}/unit/test_deep.py", content="")
    collected = GeneratedFiles(task_id="a", files=(nested,))

    assert _enforce_tests_folder(collected, _task("a")).files == (nested,)
