"""A server that is not there, or dies mid-query: clear errors, no partial tables."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import free_port
from textlens.client.errors import ServerUnavailable
from textlens.connectors.duckdb import register
from textlens.server.process import ServerProcess

duckdb = pytest.importorskip("duckdb")


def table_exists(con: Any, name: str) -> bool:
    (n,) = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(n)


def test_register_against_no_server_names_the_address(connect: Callable[..., Any]) -> None:
    target = f"127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnavailable, match=f"{target}.*connection refused.*textlens serve"):
        register(connect(), target, timeout=2)


def test_target_from_the_environment(
    connect: Callable[..., Any], tiny_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTLENS_TARGET", tiny_server.target)
    con = connect()
    with register(con) as tl:
        assert tl.mode == "remote" and tiny_server.target in tl.backend.describe()
        assert con.execute("SELECT sentiment('x')").fetchone()[0] is not None


def test_server_killed_mid_query_leaves_no_table_and_a_rerun_succeeds(
    connect: Callable[..., Any], tiny_config: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = {"OMP_NUM_THREADS": "1"}
    server = ServerProcess(tiny_config, port=port, env=env)
    con = connect(tmp_path / "w.duckdb")
    try:
        tl = register(con, server.target, timeout=20)
        # Every row distinct: the query needs the server for every chunk.
        con.execute(
            "CREATE TABLE reviews AS SELECT 'review ' || i || ' was fine' AS review "
            "FROM range(60000) r(i)"
        )

        def kill_after_some_chunks() -> None:
            deadline = time.monotonic() + 60
            while tl.stats().calls < 3 and time.monotonic() < deadline:
                time.sleep(0.005)
            server.kill()

        killer = threading.Thread(target=kill_after_some_chunks)
        killer.start()
        started = time.monotonic()
        with pytest.raises(duckdb.Error) as info:
            con.execute(
                "CREATE TABLE enriched AS SELECT review, sentiment(review) AS s FROM reviews"
            )
        killer.join()
        message = str(info.value)
        assert "ServerUnavailable" in message and server.target in message
        assert "textlens serve" in message  # the hint
        assert time.monotonic() - started < 20  # retried with backoff, then gave up
        assert tl.stats().calls >= 3  # it did fail mid-query
        assert not table_exists(con, "enriched")

        server = ServerProcess(tiny_config, port=port, env=env)  # same address
        con.execute("CREATE TABLE enriched AS SELECT review, sentiment(review) AS s FROM reviews")
        assert con.execute("SELECT count(*), count(s) FROM enriched").fetchone() == (60000, 60000)
        tl.close()
    finally:
        server.stop()
