"""Which executor a run uses when nobody says: decided from what the run will do, and said why.

"async" (the multiprocess executor) runs test generation and the refactor side by side, at the price of a
process launch per step (0.3-0.8 s with the preloaded forkserver, docs/performance.md). That pays when
generation waits: a remote agent thinks for seconds to minutes per turn while this machine's cores are
free for the refactor. With CrossHair, which keeps every core it is given busy, it paid on 2 cores (the
bundled example finished about 8 % sooner than in sync mode), but on one core nothing can run side by
side and the launches are pure cost. So "auto" picks async for a remote generator, and for a local one
when there is more than one core. The choice and its reason go into the run's tags and its report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spec2prod_assets.report.timings import ExecutionMode

RequestedMode = Literal["auto", "async", "sync"]
MODE_TAG = "spec2prod/execution_mode"
MODE_REASON_TAG = "spec2prod/execution_mode_reason"
# With this many usable cores or more, async beat sync on the bundled example with CrossHair (measured on
# 2 cores, docs/performance.md); below it there is no second core for the refactor to run on.
LOCAL_ASYNC_MIN_CORES = 2


@dataclass(frozen=True)
class ModeChoice:
    mode: ExecutionMode
    reason: str

    def tags(self) -> dict[str, str]:
        return {MODE_TAG: self.mode, MODE_REASON_TAG: self.reason}


def choose_mode(requested: RequestedMode, *, remote_generator: bool, cores: int) -> ModeChoice:
    """The mode asked for, or for "auto" the one that should finish first on this machine."""
    if requested != "auto":
        return ModeChoice(requested, f"{requested} mode was asked for")
    if remote_generator:
        return ModeChoice(
            "async",
            "auto: the test generator is a remote agent, so the refactor runs while generation waits on it",
        )
    if cores >= LOCAL_ASYNC_MIN_CORES:
        return ModeChoice(
            "async",
            f"auto: {cores} usable cores, so the refactor runs beside CrossHair",
        )
    return ModeChoice(
        "sync",
        f"auto: {cores} usable core and a local, CPU-bound generator (CrossHair), so nothing can run side "
        "by side and a process launch per step would be pure cost",
    )
