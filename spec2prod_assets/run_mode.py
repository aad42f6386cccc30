"""Which executor a run uses when nobody says: decided from what the run will do, and said why.

"async" (the multiprocess executor) runs test generation and the refactor side by side, at the price of a
process launch per step (0.3-0.8 s with the preloaded forkserver, docs/performance.md) and of the
orchestrator's own processes. That pays when generation waits: a remote agent thinks for seconds to
minutes per turn while this machine's cores are free for the refactor. With CrossHair, which keeps the
cores it is given busy, the two branches and the orchestration share the cores: on 2 cores the bundled
example took 0.92-1.12 times as long in async mode as in sync mode across our measurements, so sync is
the safer choice there. "auto" therefore picks async for a remote generator, and for a local one when
there are at least 3 usable cores (one per branch, one for the orchestration). The choice and its
reason go into the run's tags and its report.

The team and cluster profiles (`$SPEC2PROD_EXECUTOR=celery|k8s`) have no such choice: every step is a task
for a worker that may be on another machine, so the mode is the executor's name and `--mode sync|async`
is an error there rather than a silent no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spec2prod_assets.report.timings import ExecutionMode

RequestedMode = Literal["auto", "async", "sync"]
ExecutorKind = Literal["local", "celery", "k8s"]
MODE_TAG = "spec2prod/execution_mode"
MODE_REASON_TAG = "spec2prod/execution_mode_reason"
# A core for CrossHair, one for the refactor, one for the orchestration; on 2 cores async was no faster
# than sync with CrossHair (docs/performance.md).
LOCAL_ASYNC_MIN_CORES = 3


@dataclass(frozen=True)
class ModeChoice:
    mode: ExecutionMode
    reason: str

    def tags(self) -> dict[str, str]:
        return {MODE_TAG: self.mode, MODE_REASON_TAG: self.reason}


class ModeNotAvailable(ValueError):
    """A mode that the configured executor cannot give; one line naming both."""


def choose_mode(
    requested: RequestedMode, *, remote_generator: bool, cores: int, executor: ExecutorKind = "local"
) -> ModeChoice:
    """The mode asked for, or for "auto" the one that should finish first on this machine."""
    if executor != "local":
        if requested != "auto":
            raise ModeNotAvailable(
                f"--mode {requested} needs the local executor, but SPEC2PROD_EXECUTOR={executor} runs every "
                "step on its workers; leave --mode at auto, or unset SPEC2PROD_EXECUTOR"
            )
        return ModeChoice(
            executor, f"SPEC2PROD_EXECUTOR={executor}: every step runs on the {executor} workers"
        )
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
        f"auto: {cores} usable core(s) and a local, CPU-bound generator (CrossHair): running the refactor "
        "beside it would share the cores and add a process launch per step, which was not faster",
    )
