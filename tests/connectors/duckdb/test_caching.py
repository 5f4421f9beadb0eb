"""De-duplication and the result cache: the counters prove the work saved.

Also DuckDB's threads: answers stay right, each distinct text is computed once
even when threads race for it, and remote calls overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textlens.connectors.duckdb import RemoteBackend, ResultCache, register
from textlens.samples.reviews import create_reviews_table

Registered = Callable[..., tuple[Any, Any]]


def repeated_table(con: Any, rows: int, distinct: int, name: str = "t") -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {name} AS SELECT i AS id, "
        f"CASE WHEN i % 97 = 0 THEN NULL ELSE 'review number ' || (i % {distinct}) END AS review "
        f"FROM range({rows}) r(i)"
    )


def test_repeated_rows_cost_the_distinct_texts(registered: Registered, mode: str) -> None:
    con, tl = registered(mode)
    con.execute("SET threads = 1")
    repeated_table(con, 10_000, 50)
    rows = con.execute("SELECT sentiment(review) FROM t").fetchall()
    s = tl.stats()
    assert len(rows) == 10_000 and s.rows + s.nulls == 10_000 and s.nulls == 104
    assert s.computed == 50  # 50 distinct texts, whatever the number of rows
    assert s.deduplicated == s.rows - s.items > 9_000  # folded inside chunks
    assert s.calls <= s.chunks  # at most one backend call per chunk
    # Across queries and across functions of the same task: nothing new to compute.
    con.execute("SELECT sentiment_score(review), sentiment_probs(review) FROM t").fetchall()
    again = tl.stats()
    assert again.computed == 50 and again.hits > s.hits and again.misses == s.misses


def test_sample_reviews_with_many_duplicates(registered: Registered, mode: str) -> None:
    con, tl = registered(mode)
    create_reviews_table(con, "reviews", 6_000, duplicate_fraction=0.9)
    (distinct,) = con.execute("SELECT count(DISTINCT review) FROM reviews").fetchone()
    assert distinct == 600
    con.execute("SELECT product, sentiment(review) FROM reviews").fetchall()
    assert tl.stats().computed == distinct


def test_threads_share_work_and_stay_correct(
    registered: Registered, mode: str, tmp_path: Path
) -> None:
    con, tl = registered(mode)
    # Small parquet row groups: DuckDB scans them on several threads at once.
    repeated_table(con, 40_000, 700)
    path = tmp_path / "t.parquet"
    con.execute(f"COPY t TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)")
    con.execute("SET threads = 4")
    got = dict(con.execute(f"SELECT id, sentiment_score(review) FROM '{path}'").fetchall())
    s = tl.stats()
    assert s.computed == 700 and s.rows + s.nulls == 40_000
    con.execute("SET threads = 1")
    (truth,) = con.execute("SELECT sentiment_score('review number 123')").fetchone()
    assert got[123] == truth and got[123 + 700 * 3] == truth and got[97] is None


class ConcurrencyProbe:
    """A backend that counts how many calls are in flight at once, over a real remote one."""

    def __init__(self, inner: RemoteBackend) -> None:
        self.inner = inner
        self.mode = inner.mode
        self.active = 0
        self.most = 0
        self._lock = threading.Lock()

    def describe(self) -> str:
        return self.inner.describe()

    def list_models(self) -> Any:
        return self.inner.list_models()

    def sentiment(self, texts: Sequence[str], model: str, truncation: Any) -> Any:
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            return self.inner.sentiment(texts, model, truncation)
        finally:
            with self._lock:
                self.active -= 1

    def entities(self, *args: Any) -> Any:
        return self.inner.entities(*args)

    def embed(self, *args: Any) -> Any:
        return self.inner.embed(*args)

    def classify(self, *args: Any) -> Any:
        return self.inner.classify(*args)

    def close(self) -> None:
        self.inner.close()


def test_remote_calls_overlap(
    connect: Callable[..., Any], tiny_server: Any, tmp_path: Path
) -> None:
    """DuckDB threads wait on their RPCs together: the client releases the GIL."""
    probe = ConcurrencyProbe(RemoteBackend.connect(tiny_server.target))
    con = connect()
    with register(con, backend=probe):  # type: ignore[arg-type]
        repeated_table(con, 32_768, 10**9)  # every row distinct
        path = tmp_path / "distinct.parquet"
        con.execute(f"COPY t TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)")
        con.execute("SET threads = 4")
        con.execute(f"SELECT count(sentiment(review)) FROM '{path}'").fetchall()
    probe.close()
    assert probe.most >= 2


def test_cache_is_bounded_and_shareable(registered: Registered) -> None:
    small = ResultCache(max_entries=20)
    con, tl = registered("embedded", cache=small)
    repeated_table(con, 200, 100)
    con.execute("SELECT embed(review) FROM t").fetchall()
    s = tl.stats()
    assert s.entries == 20 and s.evictions >= 79 and s.bytes > 0
    shared = ResultCache()
    first, one = registered("embedded", cache=shared)
    second, two = registered("embedded", cache=shared)
    for con in (first, second):
        repeated_table(con, 300, 30)
    a = first.execute("SELECT embed(review) FROM t ORDER BY id").fetchall()
    b = second.execute("SELECT embed(review) FROM t ORDER BY id").fetchall()
    assert a == b and one.stats().computed == 30 and two.stats().computed == 0


def test_cached_vectors_are_independent_copies(registered: Registered) -> None:
    con, tl = registered("embedded")
    repeated_table(con, 10, 10)
    con.execute("SELECT embed(review) FROM t").fetchall()
    entries = [v for v, _ in tl.cache._data.values()]
    assert entries and all(isinstance(v, np.ndarray) and v.base is None for v in entries)


def test_disabled_cache_still_folds_duplicates(registered: Registered) -> None:
    con, tl = registered("embedded", cache=ResultCache(max_entries=0))
    con.execute("SET threads = 1")
    repeated_table(con, 4096, 10)
    con.execute("SELECT sentiment(review) FROM t").fetchall()
    s = tl.stats()
    # Each of the two chunks computes its 10 distinct texts; nothing is kept.
    assert s.computed == s.items == s.uncached == 20 and s.entries == 0


def test_rows_with_several_targets_never_fold_a_negative_number(
    registered: Registered, mode: str
) -> None:
    """A row asking about three aspects is one row and three cache items: the stats count
    the rows folded within a chunk, which cannot be negative (it printed -3852)."""
    con, tl = registered(mode)
    repeated_table(con, 600, 600)  # every text distinct
    con.execute("SELECT aspect_sentiment(review, ['movie', 'number', 'acting']) FROM t").fetchall()
    s = tl.stats()
    assert s.items > s.rows  # pairs: more items than rows
    assert s.deduplicated == s.rows - s.distinct == 0
