"""The DuckDB side's /metrics: a real scrape over HTTP sees the cache hits move."""

from __future__ import annotations

import re
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from textlens.connectors.duckdb import register


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r"^(textlens_duckdb_\w+)\{[^}]*\}\s+(\S+)$", line)
        if match:
            samples[match[1]] = samples.get(match[1], 0.0) + float(match[2])
    return samples


def test_registration_metrics_count_hits_and_misses(tiny_server: Any, connect: Any) -> None:
    from textlens.connectors.duckdb.cache_metrics import DuckdbMetrics

    con = connect()
    con.execute("CREATE TABLE t AS SELECT 'text ' || (i % 50) AS s FROM range(200) r(i)")
    reg = register(con, tiny_server.target)
    metrics = DuckdbMetrics(lambda: {"warehouse": reg})
    port = metrics.start("127.0.0.1", 0)
    try:
        before = scrape(port)
        assert before["textlens_duckdb_rows_total"] == 0
        con.execute("SELECT count(sentiment(s)) FROM t").fetchall()
        first = scrape(port)
        assert first["textlens_duckdb_rows_total"] == 200
        assert first["textlens_duckdb_cache_misses_total"] == 50  # 50 distinct texts
        assert first["textlens_duckdb_cache_hits_total"] == 0
        assert first["textlens_duckdb_cache_entries"] == 50
        con.execute("SELECT count(sentiment(s)) FROM t").fetchall()
        second = scrape(port)
        assert second["textlens_duckdb_cache_hits_total"] == 50
        assert (
            second["textlens_duckdb_backend_calls_total"]
            == first["textlens_duckdb_backend_calls_total"]
        )
    finally:
        metrics.stop()
        reg.close()


def test_the_dialect_serves_metrics_when_asked(
    tiny_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import create_engine, text

    from textlens.connectors.sqlalchemy.shared import close_all, metrics_port

    close_all()  # anchors an earlier test left open (the docs' examples) would count too
    with socket.socket() as probe:  # a free port for the endpoint
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("TEXTLENS_DUCKDB_METRICS_PORT", str(port))
    engine = create_engine(
        f"duckdb+textlens:///{tmp_path / 'w.duckdb'}?textlens_target={tiny_server.target}"
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT sentiment('great'), sentiment('great')")).fetchall()
        assert metrics_port() == port
        samples = scrape(port)
        assert samples["textlens_duckdb_rows_total"] == 2
        assert samples["textlens_duckdb_cache_misses_total"] >= 1
    finally:
        engine.dispose()
        close_all()
    assert metrics_port() is None
