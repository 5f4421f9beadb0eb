"""The shared CPU lock: small rounds' passes first, first come first served, bulk not starved.

Issue 22 item 8: with a plain lock, which waiter got the CPU next was arbitrary
(usually the bulk worker that had just released it), so small calls on one
model waited behind a series of bulk passes on another. Every test here
queues its waiters behind a held lock and checks the order they get it in;
threads are lined up by watching the lock's own queue, never by sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from textlens.server.runtime.cpu_lock import CpuLock, is_small_pass, pass_kind


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out lining up the waiters"
        time.sleep(0.001)


def line_up(
    lock: CpuLock, kinds: list[tuple[str, bool]]
) -> tuple[list[str], list[threading.Thread]]:
    """Start one waiter per (name, small), each queued before the next starts."""
    order: list[str] = []
    threads = []
    for name, small in kinds:

        def take(name: str = name, small: bool = small) -> None:
            with pass_kind(small), lock:
                order.append(name)

        before = sum(lock.waiting())
        thread = threading.Thread(target=take)
        thread.start()
        wait_for(lambda before=before: sum(lock.waiting()) == before + 1)
        threads.append(thread)
    return order, threads


def test_small_waiters_go_before_bulk_waiters_in_arrival_order() -> None:
    lock = CpuLock()
    lock.acquire(small=False)  # a bulk pass is running
    order, threads = line_up(
        lock, [("bulk1", False), ("bulk2", False), ("small1", True), ("small2", True)]
    )
    assert lock.waiting() == (2, 2)
    lock.release()
    for thread in threads:
        thread.join(10)
    assert order == ["small1", "small2", "bulk1", "bulk2"]
    assert lock.stats.overtakes == 2 and not lock.locked()


def test_bulk_work_is_not_starved_by_a_stream_of_small_passes() -> None:
    lock = CpuLock(small_streak=2)
    lock.acquire(small=True)
    order, threads = line_up(
        lock, [("bulk", False), ("s1", True), ("s2", True), ("s3", True), ("s4", True)]
    )
    lock.release()
    for thread in threads:
        thread.join(10)
    assert order == ["s1", "s2", "bulk", "s3", "s4"]


def test_bulk_passes_run_back_to_back_when_no_small_one_waits() -> None:
    lock = CpuLock()
    lock.acquire()  # no kind given: bulk
    order, threads = line_up(lock, [("b1", False), ("b2", False), ("b3", False)])
    lock.release()
    for thread in threads:
        thread.join(10)
    assert order == ["b1", "b2", "b3"]
    assert lock.stats.acquired_bulk == 4 and lock.stats.overtakes == 0


def test_pass_kind_is_per_thread_and_restored() -> None:
    seen: list[bool] = []
    with pass_kind(True):
        other = threading.Thread(target=lambda: seen.append(is_small_pass()))
        other.start()
        other.join(10)
        assert is_small_pass()
        with pass_kind(False):
            assert not is_small_pass()
        assert is_small_pass()
    assert not is_small_pass() and seen == [False]
