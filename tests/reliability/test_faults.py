"""Faults on a real `textlens serve` process: SIGKILL mid-query, SIGTERM drain, restart.

Every test runs a child server over the tiny models (tests/reliability/conftest.py)
and a real DuckDB with the remote functions. Waits are on observed progress:
the server's own /metrics counters say it is computing, the registration's
stats say how many chunks were answered, health is polled until it flips.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.helpers import free_port
from tests.reliability.helpers import SpawnedServer, env_int, report, wait_until
from textlens.client import Client
from textlens.client.errors import TextlensError

duckdb = pytest.importorskip("duckdb", reason="the fault tests query through DuckDB")
pytest.importorskip("torch", reason="the child server runs the tiny models")

from textlens.connectors.duckdb import register  # noqa: E402

pytestmark = pytest.mark.reliability

ROWS = 20_000
PASSES = ("textlens_forward_passes_total", "tiny-sentiment")
CTAS = "CREATE TABLE t AS SELECT id, sentiment(text) AS s FROM src"


def table_exists(con: Any, name: str) -> bool:
    (n,) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(n)


def source_table(con: Any, rows: int, tag: str = "") -> None:
    """`src(id, text)`: every text distinct, so every chunk needs the server."""
    con.execute(
        "CREATE OR REPLACE TABLE src AS SELECT i AS id, "
        f"'review {tag}' || i || ': the battery was fine but the screen scratched' AS text "
        f"FROM range({rows}) r(i)"
    )


def kill_mid_query(
    spawn: Callable[..., SpawnedServer], con: Any, tl: Any, server: SpawnedServer, port: int
) -> SpawnedServer:
    """SIGKILL `server` once it computed and answered chunks of CTAS; check; restart; rerun."""
    passes_before = server.metric(*PASSES)
    calls_before = tl.stats().calls
    seen: dict[str, Any] = {}

    def answered() -> int:
        """Chunks answered, once the server computed (its counter) and answered two (ours)."""
        calls = tl.stats().calls - calls_before
        return calls if calls >= 2 and server.metric(*PASSES) > passes_before else 0

    def killer() -> None:
        try:
            seen["calls"] = wait_until(
                answered, timeout=120, what="the server to answer two chunks of the CREATE TABLE"
            )
            server.process.kill()
        except BaseException as exc:  # reported by the main thread
            seen["error"] = exc

    thread = threading.Thread(target=killer)
    thread.start()
    started = time.monotonic()
    with pytest.raises(duckdb.Error) as info:
        con.execute(CTAS)
    failed_after = time.monotonic() - started
    thread.join()
    assert "error" not in seen, seen.get("error")
    message = str(info.value)
    assert "ServerUnavailable" in message and "unavailable" in message, message
    assert server.target in message, message
    assert server.process.proc.returncode == -signal.SIGKILL
    assert not table_exists(con, "t"), "a failed CREATE TABLE AS left a table behind"
    assert con.execute("SELECT count(*) FROM src").fetchone() == (ROWS,)  # connection still fine

    again = spawn(port)  # same address: the registration's channel reconnects to it
    started = time.monotonic()
    con.execute(CTAS)
    rerun = time.monotonic() - started
    assert con.execute("SELECT count(*), count(s), count(DISTINCT id) FROM t").fetchone() == (
        ROWS, ROWS, ROWS,
    )  # fmt: skip
    assert con.execute(
        "SELECT count(*) FROM t WHERE s NOT IN ('negative', 'positive')"
    ).fetchone() == (0,)
    report(
        f"fault SIGKILL mid CREATE TABLE ({ROWS} rows): killed after {seen['calls']} chunks "
        f"answered, duckdb error after {failed_after:.1f}s, no table t; rerun on a new server "
        f"on the same port: {ROWS} rows in {rerun:.1f}s"
    )
    return again


def test_sigkill_mid_create_table_leaves_no_table_and_rerun_succeeds(
    spawn_server: Callable[..., SpawnedServer], tmp_path: Path
) -> None:
    port = free_port()
    server = spawn_server(port)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        tl = register(con, server.target, timeout=20)
        source_table(con, ROWS)
        kill_mid_query(spawn_server, con, tl, server, port)
        tl.close()
    finally:
        con.close()


@pytest.mark.slow
def test_repeated_kills_mid_query(
    spawn_server: Callable[..., SpawnedServer], tmp_path: Path
) -> None:
    """TEXTLENS_FAULT_CYCLES (default 5) kill/restart cycles on one connection and registration."""
    port = free_port()
    server = spawn_server(port)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        tl = register(con, server.target, timeout=20)
        for cycle in range(env_int("TEXTLENS_FAULT_CYCLES", 5)):
            source_table(con, ROWS, tag=f"c{cycle} ")  # new texts: the cache cannot answer
            con.execute("DROP TABLE IF EXISTS t")
            server = kill_mid_query(spawn_server, con, tl, server, port)
        tl.close()
    finally:
        con.close()


def test_sigterm_drain_health_not_serving_while_in_flight_call_completes(
    spawn_server: Callable[..., SpawnedServer],
) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    n = 30_000  # one RPC of several seconds on the tiny models, one compute thread
    server = spawn_server(
        env={
            "TEXTLENS_DRAIN_SECONDS": "1.5",
            "TEXTLENS_GRACE_SECONDS": "120",
            "TEXTLENS_MAX_TEXTS_PER_REQUEST": str(n),
        }
    )
    texts = [f"in-flight review {i}: fine, but the screen scratches easily" for i in range(n)]
    outcome: dict[str, Any] = {}

    def in_flight() -> None:
        with Client(server.target, timeout=300, retries=0, batch_size=n) as c:
            try:
                outcome["results"] = c.sentiment(texts)
            except TextlensError as exc:
                outcome["error"] = exc
            outcome["done"] = time.monotonic()

    with grpc.insecure_channel(server.target) as channel:
        check = health_pb2_grpc.HealthStub(channel).Check
        serving = health_pb2.HealthCheckResponse.SERVING

        def statuses() -> list[int]:
            return [
                check(health_pb2.HealthCheckRequest(service=s), timeout=10).status
                for s in ("", "textlens.v1.TextAnalysis")
            ]

        assert statuses() == [serving, serving]
        passes_before = server.metric(*PASSES)
        thread = threading.Thread(target=in_flight)
        thread.start()
        wait_until(
            lambda: server.metric(*PASSES) > passes_before,
            timeout=60,
            what="the server to start computing the in-flight call",
        )
        server.process.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        wait_until(
            lambda: serving not in statuses(), timeout=10, what="health NOT_SERVING after SIGTERM"
        )
        flipped = time.monotonic() - sent
        assert thread.is_alive() and "done" not in outcome, "the call ended before the check"
        # Another model, so not queued behind the big call: answered while draining.
        answered_while_draining = None
        if time.monotonic() - sent < 1.0:
            with Client(server.target, timeout=10, retries=0) as c:
                (spans,) = c.entities(["still answering?"])
                answered_while_draining = spans is not None
    thread.join(300)
    if "error" in outcome:  # seen once in CI (connection reset): keep what the server said
        code = server.process.proc.poll()
        log = server.process.output()[-4000:]
        raise AssertionError(f"{outcome['error']!r}; server exit code {code}; its log:\n{log}")
    results = outcome["results"]
    assert len(results) == n and all(r is not None for r in results)
    code = server.process.proc.wait(120)
    assert code == 0, server.process.output()
    assert "NOT_SERVING for 1.5s" in server.process.output()
    report(
        f"fault SIGTERM drain: health NOT_SERVING {flipped * 1000:.0f} ms after SIGTERM while a "
        f"{n}-text call was in flight; it completed {outcome['done'] - sent:.1f}s after SIGTERM; "
        f"call during drain answered: {answered_while_draining}; exit code {code}"
    )


def test_restart_under_a_live_registration(
    spawn_server: Callable[..., SpawnedServer],
) -> None:
    port = free_port()
    fast_stop = {"TEXTLENS_DRAIN_SECONDS": "0"}
    server = spawn_server(port, env=fast_stop)
    con = duckdb.connect()
    try:
        tl = register(con, server.target, timeout=20)
        query = "SELECT count(*), count(sentiment(text)) FROM (SELECT ? || i AS text FROM range(500) r(i))"
        assert con.execute(query, ["before the restart "]).fetchone() == (500, 500)
        assert server.process.stop() == 0
        started = time.monotonic()
        with pytest.raises(duckdb.Error, match=r"(?i)unavailable"):
            con.execute("SELECT sentiment('asked while the server is down')").fetchone()
        down_error = time.monotonic() - started

        spawn_server(port, env=fast_stop)
        calls = tl.stats().calls
        started = time.monotonic()
        assert con.execute(query, ["after the restart "]).fetchone() == (500, 500)
        after = time.monotonic() - started
        assert tl.stats().calls > calls, "answered without the new server"
        assert con.execute(query, ["before the restart "]).fetchone() == (500, 500)
        report(
            f"fault restart under a live registration: query while down failed in "
            f"{down_error:.1f}s; same connection, no re-register, 500 new rows in {after:.1f}s "
            "after the restart"
        )
        tl.close()
    finally:
        con.close()
