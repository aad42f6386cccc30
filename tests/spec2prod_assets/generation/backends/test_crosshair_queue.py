"""CrossHair within budget: no more runs at once than `max_parallel`, the rest queued in submit order, and a
queued task gets only what is left of the generator's deadline. Real `crosshair cover` runs on tiny modules
whose import is slow on purpose."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from spec2prod_assets.generation.backends.crosshair import CrossHairGenerator
from spec2prod_assets.generation.protocol import TaskHandle, TaskState, TaskStatus
from tests.spec2prod_assets.generation.backends.test_crosshair import CORE, _task, _wait, _workspace


def _logged_import(log: Path, seconds: float) -> str:
    """A module whose import writes when it starts and ends, `seconds` apart, to `log`."""
    return (
        "import time\n"
        f"with open({str(log)!r}, 'a') as log:\n"
        "    log.write(f'start {time.time()}\\n')\n"
        f"time.sleep({seconds})\n"
        f"with open({str(log)!r}, 'a') as log:\n"
        "    log.write(f'end {time.time()}\\n')\n\n\n" + CORE
    )


def test_no_more_runs_at_once_than_max_parallel_and_the_rest_are_queued(tmp_path: Path) -> None:
    tree = tmp_path / "workspace"
    log = tree / "imports.log"  # inside the workspace: the one folder a run may write
    modules = {f"slow{n}": _logged_import(log, 0.5) for n in range(3)}
    tree = _workspace(tmp_path, modules)
    generator = CrossHairGenerator(per_condition_timeout_s=1.0, time_budget_s=60.0, max_parallel=1)

    async def scenario() -> tuple[list[TaskHandle], list[TaskStatus], list[TaskStatus]]:
        handles = list(await asyncio.gather(*(generator.submit(_task(tree, m)) for m in modules)))
        first = await generator.poll(handles)
        final = [await _wait(generator, handle) for handle in handles]
        return handles, first, final

    handles, first, final = asyncio.run(scenario())

    assert handles[0].backend_id.isdigit()
    assert [h.backend_id for h in handles[1:]] == ["queued", "queued"]
    assert [s.state for s in first] == [TaskState.RUNNING] * 3
    assert [s.detail for s in first[1:]] == ["queued for one of 1 slots"] * 2
    assert all(s.state is TaskState.SUCCEEDED for s in final), [s.detail for s in final]
    events = sorted(
        (float(stamp), kind) for kind, stamp in (line.split() for line in log.read_text().splitlines())
    )
    assert len(events) >= 6
    running = 0
    for _, kind in events:
        running += 1 if kind == "start" else -1
        assert running <= 1, events


def test_a_queued_task_gets_only_what_is_left_of_the_deadline(tmp_path: Path) -> None:
    tree = tmp_path / "workspace"
    slow_import_s = 1.0
    tree = _workspace(
        tmp_path,
        {
            "first": _logged_import(tree / "first.log", slow_import_s),
            "hangs": "import time\ntime.sleep(60)\n",
        },
    )
    deadline_s = 5.0
    generator = CrossHairGenerator(
        per_condition_timeout_s=1.0, time_budget_s=60.0, deadline_s=deadline_s, max_parallel=1
    )

    async def scenario() -> tuple[TaskStatus, TaskStatus, float]:
        started = time.monotonic()
        first = await generator.submit(_task(tree, "first"))
        queued = await generator.submit(_task(tree, "hangs"))
        return await _wait(generator, first), await _wait(generator, queued), time.monotonic() - started

    first, queued, elapsed = asyncio.run(scenario())

    assert first.state is TaskState.SUCCEEDED, first.detail
    assert first.time_budget_s is not None and first.time_budget_s <= deadline_s
    assert queued.state is TaskState.FAILED
    assert queued.time_budget_s is not None
    assert 0 < queued.time_budget_s <= deadline_s - slow_import_s
    assert f"exceeded its {queued.time_budget_s:g}s budget" in queued.detail
    assert "left of the run's deadline" in queued.detail
    assert elapsed < deadline_s + 3


def test_a_task_still_queued_when_the_deadline_passes_never_starts(tmp_path: Path) -> None:
    tree = tmp_path / "workspace"
    tree = _workspace(tmp_path, {"hangs": "import time\ntime.sleep(60)\n", "core": CORE})
    generator = CrossHairGenerator(
        per_condition_timeout_s=1.0, time_budget_s=60.0, deadline_s=1.0, max_parallel=1
    )

    async def scenario() -> TaskStatus:
        await generator.submit(_task(tree, "hangs"))
        queued = await generator.submit(_task(tree, "core"))
        return await _wait(generator, queued)

    status = asyncio.run(scenario())

    assert status.state is TaskState.FAILED
    assert status.detail.startswith("crosshair not started: only 0s left of the run's deadline")
    assert status.time_budget_s == 0.0


def test_a_queued_task_can_be_cancelled_before_it_runs(tmp_path: Path) -> None:
    tree = _workspace(tmp_path, {"hangs": "import time\ntime.sleep(60)\n", "core": CORE})
    generator = CrossHairGenerator(per_condition_timeout_s=1.0, time_budget_s=60.0, max_parallel=1)

    async def scenario() -> tuple[str, str, TaskStatus]:
        running = await generator.submit(_task(tree, "hangs"))
        queued = await generator.submit(_task(tree, "core"))
        said = await generator.cancel(queued)
        await generator.cancel(running)
        (after,) = await generator.poll([queued])
        return queued.backend_id, said, after

    backend_id, said, after = asyncio.run(scenario())

    assert (backend_id, said) == ("queued", "stopped crosshair")
    assert after.detail == "unknown task"


def test_the_cache_identity_changes_with_a_budget_but_not_with_parallelism() -> None:
    same = CrossHairGenerator(per_condition_timeout_s=4.0, time_budget_s=180.0).cache_identity
    changed = [
        CrossHairGenerator(per_condition_timeout_s=4.0, time_budget_s=90.0),
        CrossHairGenerator(per_condition_timeout_s=4.0, time_budget_s=180.0, per_line_budget_s=3.0),
        CrossHairGenerator(per_condition_timeout_s=4.0, time_budget_s=180.0, deadline_s=60.0),
        CrossHairGenerator(per_condition_timeout_s=1.0, time_budget_s=180.0),
    ]
    parallel = CrossHairGenerator(per_condition_timeout_s=4.0, time_budget_s=180.0, max_parallel=7)

    assert all(generator.cache_identity != same for generator in changed)
    assert parallel.cache_identity == same
    assert "crosshair-tool==" in same
