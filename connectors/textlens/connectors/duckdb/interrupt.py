"""Ctrl-C that stops a running DuckDB query at once, whichever thread runs our UDFs.

Why: DuckDB's Python API looks for a pending SIGINT only between the tasks it
runs on the calling thread. With more than one DuckDB thread, a COPY or a
CREATE TABLE AS over our UDFs is one long task on a worker thread, so a Ctrl-C
was acted on only when the whole query had finished (hours, on a warehouse) and
then threw the finished work away. Here the query runs on a helper thread while the main
thread waits in Python, where the signal arrives at once; it calls
`con.interrupt()`, waits for DuckDB to unwind (tens of milliseconds), and
re-raises `KeyboardInterrupt`, so the caller's all-or-nothing cleanup runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")

#: How often the waiting main thread wakes; only bounds the reaction to a signal.
POLL_S = 0.1


def run_interruptibly(con: duckdb.DuckDBPyConnection, work: Callable[[], T]) -> T:
    """`work()` (which runs queries on `con`), stopped by Ctrl-C within ~0.1 s.

    Off the main thread (no signal can arrive there) it simply calls `work()`.
    """
    if threading.current_thread() is not threading.main_thread():
        return work()
    outcome: list[T] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the caller's thread, re-raised there
            failure.append(exc)
        finally:
            done.set()

    # An Event, not Thread.join: a join interrupted by KeyboardInterrupt can
    # later return while the thread still runs (CPython bpo-21822).
    threading.Thread(target=run, name="textlens-duckdb-query", daemon=True).start()
    try:
        while not done.wait(POLL_S):
            pass
    except KeyboardInterrupt:
        _interrupt_and_wait(con, done)
        raise
    if failure:
        raise failure[0]
    return outcome[0]


def _interrupt_and_wait(con: duckdb.DuckDBPyConnection, done: threading.Event) -> None:
    """Stop the query and wait until it has unwound; further Ctrl-Cs only ask again.

    Leaving before DuckDB unwinds would let the process exit under a running
    query (an abort in DuckDB's threads) and skip the cleanup of partial output.
    """
    while True:
        try:
            con.interrupt()
            if done.wait(POLL_S):
                return
        except KeyboardInterrupt:
            continue
