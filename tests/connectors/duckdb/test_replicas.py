"""Several servers behind one target: round-robin, concurrent chunk RPCs, one going away.

Two real servers on loopback over the same models (issue 13, point 7): the
client and the DuckDB connector spread calls over both, roughly evenly; when
one stops, later calls still succeed on the other.
"""

from __future__ import annotations

from typing import Any

import duckdb

from textlens.client import Client
from textlens.connectors.duckdb import register


def served_texts(server: Any) -> int:
    return int(server.registry.models["sentiment-minilm"].batcher.stats.texts)


def test_client_round_robin_and_failover(inprocess_server: Any) -> None:
    one, two = inprocess_server(), inprocess_server()
    before = served_texts(one), served_texts(two)
    with Client([one.target, two.target], retries=4, timeout=60) as client:
        assert client.target == f"ipv4:{one.target},{two.target}"
        for i in range(20):
            (result,) = client.sentiment([f"review {i}: great phone"])
            assert result is not None
        got = served_texts(one) - before[0], served_texts(two) - before[1]
        assert sum(got) == 20 and min(got) >= 6, got  # round-robin, roughly even
        two.stop()
        for i in range(10):  # the stopped one is skipped (UNAVAILABLE is retried)
            (result,) = client.sentiment([f"after the stop {i}: awful"])
            assert result is not None and result.label == "negative"


def test_duckdb_sends_each_chunk_to_every_replica(inprocess_server: Any) -> None:
    one, two = inprocess_server(), inprocess_server()
    before = served_texts(one), served_texts(two)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE r AS SELECT 'review ' || i || ': decent value' AS t FROM range(4096) x(i)"
    )
    with register(con, f"{one.target},{two.target}") as tl:
        assert tl.backend.inflight == 2  # type: ignore[attr-defined]
        rows = con.execute("SELECT count(*), count(sentiment(t)) FROM r").fetchone()
        assert rows == (4096, 4096)
        got = served_texts(one) - before[0], served_texts(two) - before[1]
        assert sum(got) == 4096 and min(got) >= 1024, got
        one.stop()
        con.execute(
            "CREATE TABLE s AS SELECT 'other ' || i || ': broke fast' AS t FROM range(3000) x(i)"
        )
        assert con.execute("SELECT count(sentiment(t)) FROM s").fetchone() == (3000,)
