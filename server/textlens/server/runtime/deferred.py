"""Work a runtime does after it serves: one background thread, in order, stoppable.

A first start on a new machine used to measure every engine of every model
before it answered anything (23 s for the four default models on 2 cores;
134 s before the probe set was trimmed). Now a model serves at once on the
engine that needs no measuring, and its measurement is queued here; the
queue runs once the registry has loaded every model (`release`), so the
measurements never slow the start they were moved out of.

One thread, because the work is CPU-bound and the CPU is already the
serving path's: two measurements at once would only time each other.
`close` asks the running job to stop (`stopping` turns true) and waits for
it, so a server or a DuckDB connection that shuts down never leaves a
thread inside torch while the interpreter exits.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: A job: takes the "stop now" check, returns nothing (it publishes its own result).
Job = Callable[[Callable[[], bool]], None]


class Stopped(Exception):
    """Raised inside a job that saw `stopping()` turn true; it ends the job quietly."""


@dataclass
class _Queued:
    label: str
    job: Job


class DeferredWork:
    """A FIFO of background jobs run by one daemon thread once released."""

    def __init__(self) -> None:
        self._queue: queue.Queue[_Queued | None] = queue.Queue()
        self._released = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: list[str] = []
        #: The job running now ("" when idle): `textlens models` and the logs say it.
        self.running = ""

    def submit(self, label: str, job: Job) -> None:
        """Queue `job`; it runs after `release` (at once if already released)."""
        with self._lock:
            if self._stop.is_set():
                return
            self._pending.append(label)
            self._queue.put(_Queued(label, job))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="textlens-deferred", daemon=True
                )
                self._thread.start()
                atexit.register(self._at_exit)

    def release(self) -> None:
        """Let queued jobs start (the registry calls it once every model is loaded)."""
        self._released.set()

    def pending(self) -> list[str]:
        """Labels of the jobs queued or running, in order."""
        with self._lock:
            return [label for label in self._pending if label]

    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every job queued so far has finished; False on timeout."""
        done = threading.Event()
        self.submit("", lambda _stopping: done.set())
        self.release()
        return done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the running job at its next check, drop the rest, and wait for the thread."""
        with self._lock:
            self._stop.set()
            self._pending.clear()
            thread = self._thread
        self._released.set()
        self._queue.put(None)
        if thread is not None:
            atexit.unregister(self._at_exit)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("background job %r did not stop within %.0fs", self.running, timeout)

    def _at_exit(self) -> None:
        """A script that never closed its connection: stop before the interpreter freezes
        the thread inside torch (a crash message at exit instead of a clean one)."""
        self.close(timeout=5.0)

    def _run(self) -> None:
        self._released.wait()
        while True:
            item = self._queue.get()
            if item is None or self._stop.is_set():
                return
            self.running = item.label
            try:
                item.job(self._stop.is_set)
            except Stopped:
                log.info("background job %s stopped: the runtime is shutting down", item.label)
            except Exception:  # a failed measurement keeps the engine already serving
                log.exception("background job %s failed; the model keeps its engine", item.label)
            finally:
                self.running = ""
                with self._lock:
                    if item.label in self._pending:
                        self._pending.remove(item.label)
