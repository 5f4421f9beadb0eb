"""README promises about a registration that had no test of their own.

NULL model names, `con.cursor()` connections, the cache's default bounds and
its `shared` counter (a text another thread is computing at that moment is
waited for, not computed twice). Embedded mode over the tiny models.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from textlens.connectors.duckdb import EmbeddedBackend, register
from textlens.connectors.duckdb.cache import DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, ResultCache

duckdb = pytest.importorskip("duckdb")


def test_a_null_model_name_answers_null_in_place(tiny_analyzer: Any) -> None:
    con = duckdb.connect()
    with register(con, backend=EmbeddedBackend(tiny_analyzer)):
        con.execute(
            "CREATE TABLE t AS SELECT * FROM (VALUES (1, 'tiny-sentiment'), (2, NULL)) v(i, m)"
        )
        rows = con.execute("SELECT i, sentiment('good phone', m) FROM t ORDER BY i").fetchall()
        embeds = con.execute("SELECT embed('x', NULL::VARCHAR) IS NULL").fetchone()
    assert rows[0][1] in {"negative", "positive"} and rows[1] == (2, None)
    assert embeds == (True,)


def test_cursor_connections_need_and_take_their_own_registration(tiny_analyzer: Any) -> None:
    con = duckdb.connect()
    with register(con, backend=EmbeddedBackend(tiny_analyzer)):
        cursor = con.cursor()
        with pytest.raises(duckdb.CatalogException, match="sentiment"):
            cursor.execute("SELECT sentiment('not registered here')")
        with register(cursor, backend=EmbeddedBackend(tiny_analyzer)):
            (label,) = cursor.execute("SELECT sentiment('registered on the cursor')").fetchone()
        assert label in {"negative", "positive"}


def test_the_cache_is_bounded_by_default_and_evicts_beyond_its_bound(tiny_analyzer: Any) -> None:
    assert (DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES) == (100_000, 256 * 1024 * 1024)  # README
    con = duckdb.connect()
    with register(con, backend=EmbeddedBackend(tiny_analyzer)) as tl:
        cache = tl.cache
        assert (cache.max_entries, cache.max_bytes) == (100_000, 256 * 1024 * 1024)
    small = ResultCache(max_entries=10)
    with register(con, backend=EmbeddedBackend(tiny_analyzer), cache=small) as tl:
        con.execute("SELECT count(sentiment('text ' || i)) FROM range(50) r(i)").fetchall()
        stats = tl.stats()
    assert stats.entries <= 10 and stats.evictions >= 40, stats


class GatedBackend(EmbeddedBackend):
    """The tiny models, but sentiment() holds until `release` (explicit synchronisation:
    the test decides when the first computation may finish)."""

    def __init__(self, analyzer: Any) -> None:
        super().__init__(analyzer)
        self.entered = threading.Event()
        self.release = threading.Event()

    def sentiment(self, texts: Sequence[str], model: str, truncation: Any) -> Any:
        self.entered.set()
        assert self.release.wait(120), "the test never released the gate"
        return super().sentiment(texts, model, truncation)


def test_a_text_being_computed_by_another_thread_is_shared(tiny_analyzer: Any) -> None:
    """Two DuckDB threads meet the same text at once (two row groups of one table): one
    computes it, the other waits for that answer and counts it as `shared`."""
    backend = GatedBackend(tiny_analyzer)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("CREATE TABLE t AS SELECT 'the same review' AS s FROM range(2 * 122880) r(i)")
    with register(con, backend=backend) as tl:
        outcome: dict[str, Any] = {}

        def query() -> None:
            outcome["rows"] = con.execute("SELECT count(sentiment(s)) FROM t").fetchone()

        thread = threading.Thread(target=query)
        thread.start()
        assert backend.entered.wait(120)
        deadline = time.monotonic() + 120
        while tl.stats().shared == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the real counter until the second thread waits
        shared_while_gated = tl.stats().shared
        backend.release.set()
        thread.join(120)
        stats = tl.stats()
    assert outcome["rows"] == (2 * 122880,)
    assert shared_while_gated >= 1 and stats.computed == 1, stats
