"""Reading a child's stdout and stderr within a deadline, keeping a bounded tail of each.

`communicate()` waits for end-of-file on the pipes, and a detached grandchild that inherited them keeps
them open for as long as it lives: a 3 s timeout became 17 s. Here the pipes are read with `select` and
never waited on past the deadline, nor more than a short grace once the command itself has ended; and only
the last `limit` bytes are kept, so a test that prints 300 MB costs a few hundred kilobytes.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

# How long the pipes are still read once the command has ended (or been killed): output already written
# arrives within it; a grandchild that keeps them open is not waited for.
AFTER_EXIT_GRACE_S = 0.5
_CHUNK = 65536


class BoundedTail:
    """The last `limit` bytes written to it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._data = bytearray()

    def add(self, chunk: bytes) -> None:
        self._data += chunk
        if len(self._data) > 2 * self.limit:
            del self._data[: len(self._data) - self.limit]

    def text(self) -> str:
        data = self._data[-self.limit :] if len(self._data) > self.limit else self._data
        return bytes(data).decode(errors="replace")


@dataclass(frozen=True)
class Captured:
    stdout: str
    stderr: str
    timed_out: bool


def capture(
    proc: subprocess.Popen[bytes],
    *,
    deadline: float,
    limit: int,
    kill: Callable[[], None],
    cancelled: Callable[[], bool],
) -> Captured:
    """Read `proc`'s pipes until it ends or `deadline` (monotonic) passes, then `kill` it and stop.

    `cancelled` is polled too: a cancelled run is killed like a late one.
    """
    tails = {"stdout": BoundedTail(limit), "stderr": BoundedTail(limit)}
    selector = selectors.DefaultSelector()
    for name in tails:
        stream = getattr(proc, name)
        os.set_blocking(stream.fileno(), False)
        selector.register(stream, selectors.EVENT_READ, name)
    timed_out = False
    stop_at: float | None = None  # once set: read until then, no longer
    try:
        while selector.get_map():
            now = time.monotonic()
            if stop_at is None and proc.poll() is not None:
                stop_at = now + AFTER_EXIT_GRACE_S
            if stop_at is None and (now >= deadline or cancelled()):
                timed_out = now >= deadline
                kill()
                stop_at = now + AFTER_EXIT_GRACE_S
            if stop_at is not None and now >= stop_at:
                break
            wake = min(deadline if stop_at is None else stop_at, now + 0.1)
            for key, _ in selector.select(timeout=max(0.0, wake - now)):
                chunk = os.read(key.fd, _CHUNK)
                if chunk:
                    tails[key.data].add(chunk)
                else:
                    selector.unregister(key.fileobj)
    finally:
        selector.close()
    while proc.poll() is None:  # pipes closed, command still running: wait for it, as long as allowed
        if time.monotonic() >= deadline or cancelled():
            timed_out = timed_out or time.monotonic() >= deadline
            kill()
            break
        time.sleep(0.05)
    proc.wait()
    return Captured(tails["stdout"].text(), tails["stderr"].text(), timed_out)
