"""The parent's end of the outcomes pipe: read live while pytest runs, then cross-checked.

Each line the plugin sends is kept as it arrives, so a test that rewrites files at exit changes nothing
already received; a later line for the same test can only make its outcome worse (worst wins). The
session line must agree with the process: the same exit status, a record for every collected test when
the tests ran, no record for a test that was never collected, and failures exactly when pytest says so.
Reading is bounded: at most `_MAX_LINES` lines of at most `_MAX_LINE` bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

_MAX_LINES = 200_000
_MAX_LINE = 64 * 1024 * 1024  # the session line carries the coverage report
_JOIN_S = 2.0


class OutcomeStreamError(ValueError):
    """What arrived on the pipe does not add up to a trustworthy run."""


@dataclass
class StreamedOutcomes:
    """Test records in arrival order, and the session line if one came."""

    records: list[dict[str, Any]] = field(default_factory=list)
    session: dict[str, Any] | None = None
    problem: str | None = None

    @property
    def coverage_json(self) -> str | None:
        """The coverage report the session line carried, if it carried one."""
        report = self.session.get("coverage_json") if self.session else None
        return report if isinstance(report, str) else None


class OutcomePipe:
    """An inheritable pipe whose read end a thread drains while the command runs."""

    def __init__(self) -> None:
        self._read, self.write_fd = os.pipe()
        os.set_inheritable(self.write_fd, True)
        self.received = StreamedOutcomes()
        self._thread = threading.Thread(target=self._drain, name="outcomes-pipe", daemon=True)
        self._thread.start()

    def finish(self) -> StreamedOutcomes:
        """Close our write end once the command has ended, then take what was read."""
        with contextlib.suppress(OSError):
            os.close(self.write_fd)
        self._thread.join(_JOIN_S)
        if self._thread.is_alive():  # an escaped process still holds the pipe: what came until now counts
            self.received.problem = (
                self.received.problem or "the outcomes pipe was still held open after the run"
            )
        return self.received

    def _drain(self) -> None:
        # Only each new chunk is searched for line ends, so a long line (the session line carries the
        # coverage report) costs time in proportion to its length, not to its length squared.
        pending = bytearray()
        try:
            with os.fdopen(self._read, "rb", buffering=0) as pipe:
                while chunk := pipe.read(65536):
                    *ends, rest = chunk.split(b"\n")
                    for end in ends:
                        pending += end
                        self._take(bytes(pending))
                        pending.clear()
                    pending += rest
                    if len(pending) > _MAX_LINE:
                        self.received.problem = "an outcome line was too long"
                        pending.clear()
        except OSError as exc:
            self.received.problem = f"the outcomes pipe failed: {exc}"

    def _take(self, line: bytes) -> None:
        if len(self.received.records) >= _MAX_LINES:
            self.received.problem = f"more than {_MAX_LINES} outcome lines"
            return
        try:
            record = json.loads(line)
        except ValueError:
            self.received.problem = f"an outcome line is not JSON: {line[:80]!r}"
            return
        if not isinstance(record, dict):
            self.received.problem = "an outcome line is not an object"
        elif "session" in record:
            if self.received.session is not None:
                self.received.problem = "two session lines"
            self.received.session = record["session"] if isinstance(record["session"], dict) else {}
        else:
            self.received.records.append(record)


def cross_check(
    received: StreamedOutcomes, *, exit_code: int, failed_ids: set[str], test_ids: set[str]
) -> list[str]:
    """The collected node ids after checking the stream against the process; OutcomeStreamError if off.

    `test_ids` are the tests with a record (collection errors excluded), `failed_ids` those that failed.
    """
    if received.problem:
        raise OutcomeStreamError(received.problem)
    session = received.session
    if session is None:
        raise OutcomeStreamError(f"pytest ended (exit {exit_code}) without reporting its session")
    collected = session.get("collected")
    if not isinstance(collected, list) or not all(isinstance(n, str) for n in collected):
        raise OutcomeStreamError("the session line has no list of collected tests")
    if session.get("exit_status") != exit_code:
        raise OutcomeStreamError(
            f"pytest reported exit status {session.get('exit_status')!r}, the process exited with {exit_code}"
        )
    strangers = test_ids - set(collected)
    if strangers:
        raise OutcomeStreamError(f"outcomes for tests that were never collected: {sorted(strangers)[:3]}")
    if exit_code in (0, 1) and test_ids != set(collected):
        missing = sorted(set(collected) - test_ids)[:3]
        raise OutcomeStreamError(
            f"{len(set(collected) - test_ids)} collected tests have no outcome: {missing}"
        )
    if exit_code == 0 and failed_ids:
        raise OutcomeStreamError(f"pytest exited 0 but tests failed: {sorted(failed_ids)[:3]}")
    return collected
