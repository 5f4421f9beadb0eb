"""The runtime's background work: in order, only after release, stoppable, never fatal."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from textlens.server.runtime.deferred import DeferredWork, Stopped


def test_jobs_wait_for_release_then_run_in_order() -> None:
    work = DeferredWork()
    ran: list[str] = []
    try:
        work.submit("a", lambda _s: ran.append("a"))
        work.submit("b", lambda _s: ran.append("b"))
        time.sleep(0.2)
        assert ran == [] and work.pending() == ["a", "b"]  # the models are still loading
        work.release()
        assert work.wait_idle(10)
        assert ran == ["a", "b"] and work.pending() == []
    finally:
        work.close()


def test_a_failed_job_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    work = DeferredWork()
    ran: list[str] = []

    def broken(_stopping: Callable[[], bool]) -> None:
        raise RuntimeError("export failed")

    try:
        work.submit("measuring m's engines", broken)
        work.submit("next", lambda _s: ran.append("next"))
        work.release()
        assert work.wait_idle(10)
    finally:
        work.close()
    assert ran == ["next"]
    assert "measuring m's engines failed; the model keeps its engine" in caplog.text


def test_close_stops_the_running_job_and_drops_the_rest() -> None:
    work = DeferredWork()
    started, ran = threading.Event(), []

    def long(stopping: Callable[[], bool]) -> None:
        started.set()
        while True:  # a measurement checks between batches
            if stopping():
                raise Stopped
            time.sleep(0.01)

    work.submit("long", long)
    work.submit("never", lambda _s: ran.append("never"))
    work.release()
    assert started.wait(10)
    t0 = time.monotonic()
    work.close(timeout=10)
    assert time.monotonic() - t0 < 5
    assert ran == [] and work.running == ""
    work.submit("after close", lambda _s: ran.append("late"))  # ignored: shutting down
    assert work.pending() == [] and ran == []


def test_a_process_that_never_closes_stops_the_job_at_exit() -> None:
    """A script that leaves its DuckDB connection open: the job is asked to stop at exit
    (atexit) instead of being frozen mid-pass when the interpreter finalizes."""
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "from textlens.server.runtime.deferred import DeferredWork, Stopped\n"
        "work = DeferredWork()\n"
        "def job(stopping):\n"
        "    print('started', flush=True)\n"
        "    while not stopping():\n"
        "        time.sleep(0.01)\n"
        "    print('asked to stop', flush=True)\n"
        "    raise Stopped\n"
        "work.submit('job', job)\n"
        "work.release()\n"
        "time.sleep(0.5)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["started", "asked", "to", "stop"], done.stdout
