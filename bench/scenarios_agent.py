"""Scenario b: sync vs async when test generation waits on a slow remote agent.

The agent is the real OpenHands agent server from `.venv-openhands` (as the openhands_real tests run it);
the model is the test suite's scripted model (tests/support/scripted_llm.py) behind a loopback server that
answers each agent turn (a request that offers tools) after `delay_s`, so generation takes as long as a
few turns of a real model while everything else is the pipeline's own work.

"Saved" is measured end to end: (sync wall - async wall) / the sync run's refactored_code duration, i.e.
the share of the refactor branch async took off the critical path (1.0 = all of it, below 0 = async lost
more in step launches than it hid). The overlap of the two branches in the async run is noted beside it.

The code location reads OPENHANDS_* when it loads, so this scenario runs in a process of its own
(`in_child_process`) that starts the servers first and imports the workflow after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.bench_projects import copy_demo
from bench.ratio_table import Row

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH_ROWS "
SCRIPT = "bench-slow-agent"
LLM_KEY = "sk-scripted-llm-key-for-the-bench"
GENERATED, REFACTORED = "generated_tests", "refactored_code"
CHILD_TIMEOUT_S = 3600.0
TESTS = "tests/calculator"
# What the scripted agent writes: tests the funnel accepts (they pass, and they cover what the example's own
# two tests leave out), so the run takes the agent's path all the way.
AGENT_TESTS = """import pytest

from calculator import clamp, divide, multiply, percentage, power


def test_multiply():
    assert multiply(3, 4) == 12


def test_divide_by_zero_raises():
    with pytest.raises(ValueError):
        divide(1, 0)


def test_divide():
    assert divide(6, 3) == 2


def test_power_rejects_a_fractional_power_of_a_negative_base():
    with pytest.raises(ValueError):
        power(-8, 0.5)


def test_power():
    assert power(2, 3) == 8


def test_percentage():
    assert percentage(1, 4) == 25.0


def test_percentage_of_nothing_raises():
    with pytest.raises(ValueError):
        percentage(1, 0)


def test_clamp():
    assert (clamp(5, 0, 3), clamp(-5, 0, 3), clamp(2, 0, 3)) == (3, 0, 2)


def test_clamp_rejects_an_empty_range():
    with pytest.raises(ValueError):
        clamp(1, 3, 0)
"""


def in_child_process(repeat: int, delay_s: float, scratch: Path) -> list[Row]:
    """Run the scenario in a fresh interpreter and read its rows back (or its reason for skipping)."""
    from tests.support.agent_server import missing_reason

    reason = missing_reason()
    if reason is not None:
        return [Row.unmeasured("b. slow agent", f"skipped: {reason}")]
    command = [
        sys.executable,
        "-m",
        "bench.scenarios_agent",
        "--repeat",
        str(repeat),
        "--delay-s",
        str(delay_s),
    ]
    process = subprocess.Popen(
        [*command, "--workdir", str(Path(tempfile.mkdtemp(prefix="agent-", dir=scratch)))],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(RESULT_PREFIX):
                lines.append(line[len(RESULT_PREFIX) :])
            else:
                print(line, end="", flush=True)
        process.wait(timeout=CHILD_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0 or not lines:
        return [
            Row.unmeasured("b. slow agent", f"failed: the child process exited with {process.returncode}")
        ]
    return [Row(**{**row, "notes": tuple(row["notes"])}) for row in json.loads(lines[-1])]


@contextmanager
def slow_scripted_model(delay_s: float) -> Iterator[Any]:
    """The scripted model of the test suite, each agent turn answered after `delay_s` (awaited, so the
    server keeps answering other requests meanwhile). Title requests (no tools) are answered at once."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tests.support.fake_openhands import LoopbackServer
    from tests.support.scripted_llm import ScriptedLLM

    holder: list[ScriptedLLM] = []

    async def chat_completions(request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("tools"):
            await asyncio.sleep(delay_s)
        return JSONResponse(holder[0].answer(body))

    app = Starlette(
        routes=[
            Route(f"{prefix}/chat/completions", chat_completions, methods=["POST"]) for prefix in ("/v1", "")
        ]
    )
    with LoopbackServer(app) as server:
        holder.append(ScriptedLLM(base_url=f"{server.url}/v1"))
        yield holder[0]


def _steps(result: Any) -> dict[str, Any]:
    return {stage.stage: stage for stage in result.timings.stages}


def _overlap_s(a: Any, b: Any) -> float:
    return max(0.0, min(a.end, b.end) - max(a.start, b.start))


def project_asking_for(destination: Path, script: str) -> Path:
    """A copy of the example whose calculator spec carries the scripted model's marker (the task text
    quotes the spec's overview, so the model knows which script to play)."""
    from tests.support.scripted_llm import script_marker

    project = copy_demo(destination)
    spec = project / "specs" / "calculator.md"
    text = spec.read_text(encoding="utf-8")
    overview = "## Overview\n"
    spec.write_text(text.replace(overview, f"{overview}{script_marker(script)} ", 1), encoding="utf-8")
    return project


def measure(repeat: int, delay_s: float, workdir: Path) -> list[Row]:
    from tests.support.agent_server import running_agent_server
    from tests.support.scripted_llm import PRICED_MODEL, Script, create_file, finish, locate_workspace

    with slow_scripted_model(delay_s) as model, running_agent_server(workdir / "server") as server:
        model.scripts[SCRIPT] = Script(
            (locate_workspace(TESTS), create_file(f"{TESTS}/test_bench_calculator.py", AGENT_TESTS), finish())
        )
        os.environ.update(
            OPENHANDS_URL=server.base_url,
            OPENHANDS_API_KEY=server.api_key,
            OPENHANDS_LLM_MODEL=PRICED_MODEL,
            OPENHANDS_LLM_API_KEY=LLM_KEY,
            OPENHANDS_LLM_BASE_URL=model.base_url,
            OPENHANDS_WORKING_ROOT=str(server.home / "workspaces"),
            OPENHANDS_TIMEOUT_S="900",
        )
        from spec2prod_assets.workflow import run_workflow  # after OPENHANDS_*: the location reads them

        walls: dict[str, list[float]] = {"sync": [], "async": []}
        refactor_s: list[float] = []
        overlap_share: list[float] = []
        generation_s: list[float] = []
        for round_number in range(1, repeat + 1):
            for mode in ("sync", "async") if round_number % 2 else ("async", "sync"):
                project = project_asking_for(workdir / f"{mode}-{round_number}", SCRIPT)
                started = time.perf_counter()
                result = run_workflow(
                    project / "specs" / "calculator.md",
                    "dev",
                    mode,
                    log_level="WARNING",
                )
                walls[mode].append(time.perf_counter() - started)
                if not result.success:
                    raise RuntimeError(f"{mode} run failed: {[f.message for f in result.failures]}")
                steps = _steps(result)
                generated = result.stages[GENERATED].metadata
                if generated.get("generator") != "openhands" or not generated.get("tests_accepted"):
                    raise RuntimeError(f"the agent's tests were not used: {generated.get('degraded_reason')}")
                generation_s.append(steps[GENERATED].duration_s)
                if mode == "sync":
                    refactor_s.append(steps[REFACTORED].duration_s)
                else:
                    overlap = _overlap_s(steps[GENERATED], steps[REFACTORED])
                    overlap_share.append(overlap / max(steps[REFACTORED].duration_s, 1e-9))
                print(
                    f"  b. round {round_number} {mode:>5}: {walls[mode][-1]:6.1f} s, generated_tests "
                    f"{steps[GENERATED].duration_s:5.1f} s, "
                    f"refactored_code {steps[REFACTORED].duration_s:5.1f} s",
                    flush=True,
                )
    sync_s, async_s = statistics.median(walls["sync"]), statistics.median(walls["async"])
    branch_s = statistics.median(refactor_s)
    saved = (sync_s - async_s) / branch_s
    return [
        Row(
            f"b. slow agent ({delay_s:g} s/turn): refactor branch saved",
            f"sync {sync_s:.1f} s",
            f"async {async_s:.1f} s",
            saved,
            ">= 0.80",
            saved >= 0.8,
            notes=(
                f"saved = (sync - async wall) / sync refactored_code ({branch_s:.1f} s); generated_tests "
                f"median {statistics.median(generation_s):.1f} s; in the async run the refactor branch "
                f"overlapped generation for {statistics.median(overlap_share):.0%} of its duration",
            ),
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Scenario b of bench/bench_all.py, in a process of its own.")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--delay-s", type=float, default=10.0)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    rows = measure(args.repeat, args.delay_s, args.workdir)
    print(RESULT_PREFIX + json.dumps([row.__dict__ for row in rows]), flush=True)


if __name__ == "__main__":
    main()
