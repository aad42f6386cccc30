"""A circuit breaker per agent server and process, so a dead server is not hammered while the run degrades.

Shared by every generator that talks to the same server in this process: tasks of one run, and the
steps of runs that share a process, learn from each other's failures.
"""

from __future__ import annotations

import threading
import time

from spec2prod_assets.generation.backends.openhands.errors import CircuitOpenError


class CircuitBreaker:
    """Opens after `threshold` consecutive failed calls; after `reset_s` one trial call may pass."""

    def __init__(self, threshold: int, reset_s: float) -> None:
        self._threshold = threshold
        self._reset_s = reset_s
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    @property
    def failures(self) -> int:
        return self._failures

    def check(self, server: str) -> None:
        """Raise `CircuitOpenError` while open; let a call through otherwise."""
        with self._lock:
            if self._opened_at is None:
                return
            remaining = self._opened_at + self._reset_s - time.monotonic()
            if remaining > 0:
                raise CircuitOpenError(
                    f"circuit open for {server}: {self._failures} consecutive failed calls; "
                    f"no calls for another {remaining:.1f} s"
                )
            # Half-open: let this call through; one more failure re-opens at once.
            self._opened_at = None
            self._failures = self._threshold - 1

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def record_failure(self) -> bool:
        """Count a failed call; True when this failure opened the circuit (for the caller to log)."""
        with self._lock:
            self._failures += 1
            if self._failures >= self._threshold and self._opened_at is None:
                self._opened_at = time.monotonic()
                return True
            return False


_BREAKERS: dict[str, CircuitBreaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(base_url: str, threshold: int, reset_s: float) -> CircuitBreaker:
    """The breaker for `base_url`; the settings of the first generator that asks for it are kept."""
    with _BREAKERS_LOCK:
        breaker = _BREAKERS.get(base_url)
        if breaker is None:
            breaker = _BREAKERS[base_url] = CircuitBreaker(threshold, reset_s)
        return breaker
