"""The CPU lock every model's forward passes take turns on, small rounds first.

A CPU forward pass already uses every core this process may use, so two
models forwarding at once would only fight over them: passes of all models
run one at a time. A plain lock made that order arbitrary (in practice, the
thread that just released it takes it again), so a bulk request on model A
kept small calls on model B waiting for a whole series of A's passes; the
batcher's small-calls-first rule held only within one model.

`CpuLock` keeps two queues of waiters: passes of small rounds go before
passes of bulk rounds, first come first served within each. A bulk waiter is
never starved: after `SMALL_STREAK` small passes in a row while bulk work
waits, the oldest bulk waiter goes next, and with no small waiter bulk passes
run back to back. The batcher says which kind a pass is with `pass_kind`,
for the thread it runs on; passes without a kind (the engine selection's
measurements at load) count as bulk.

Torch-free on purpose: the batcher imports it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

#: Small passes granted in a row while a bulk pass waits, before the bulk one goes.
SMALL_STREAK = 4

_kind = threading.local()


@contextmanager
def pass_kind(small: bool) -> Iterator[None]:
    """Forward passes this thread runs inside the block are of a small round (or bulk)."""
    before = getattr(_kind, "small", False)
    _kind.small = small
    try:
        yield
    finally:
        _kind.small = before


def is_small_pass() -> bool:
    """Whether the calling thread is running a small round's pass (`pass_kind`)."""
    return bool(getattr(_kind, "small", False))


def lock_wait_seconds() -> float:
    """Seconds this thread waited for a `CpuLock` since the last call (then zero again).

    The batcher times its passes without these waits: a pass that queued
    behind another model's is not a slower pass.
    """
    waited = float(getattr(_kind, "waited", 0.0))
    _kind.waited = 0.0
    return waited


@dataclass
class CpuLockStats:
    """How often small passes overtook waiting bulk ones (tests and benchmarks read it)."""

    acquired_small: int = 0
    acquired_bulk: int = 0
    #: Small passes granted while a bulk pass was already waiting.
    overtakes: int = 0


class CpuLock:
    """A non-reentrant lock granting small passes before bulk ones (see the module)."""

    def __init__(self, small_streak: int = SMALL_STREAK) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held = False
        self._small: deque[object] = deque()
        self._bulk: deque[object] = deque()
        self._streak = 0  # small grants in a row while bulk work waited
        self.small_streak = small_streak
        self.stats = CpuLockStats()

    def _next(self) -> object | None:
        """The waiter whose turn it is (None: nobody waits)."""
        if self._small and not (self._bulk and self._streak >= self.small_streak):
            return self._small[0]
        if self._bulk:
            return self._bulk[0]
        return None

    def acquire(self, small: bool | None = None) -> bool:
        """Block until it is this caller's turn; `small` defaults to the thread's `pass_kind`."""
        if small is None:
            small = is_small_pass()
        ticket = object()
        waiting = self._small if small else self._bulk
        started = time.perf_counter()
        with self._cond:
            waiting.append(ticket)
            while self._held or self._next() is not ticket:
                self._cond.wait()
            waiting.popleft()
            self._held = True
            if small:
                self.stats.acquired_small += 1
                if self._bulk:
                    self.stats.overtakes += 1
                    self._streak += 1
                else:
                    self._streak = 0
            else:
                self.stats.acquired_bulk += 1
                self._streak = 0
        _kind.waited = getattr(_kind, "waited", 0.0) + time.perf_counter() - started
        return True

    def release(self) -> None:
        with self._cond:
            if not self._held:
                raise RuntimeError("release of an unheld CpuLock")
            self._held = False
            self._cond.notify_all()

    def locked(self) -> bool:
        return self._held

    def waiting(self) -> tuple[int, int]:
        """(small, bulk) passes waiting for the lock now."""
        with self._cond:
            return len(self._small), len(self._bulk)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
