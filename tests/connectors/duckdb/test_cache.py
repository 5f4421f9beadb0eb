"""The LRU result cache: bounds, eviction order, byte estimates."""

from __future__ import annotations

import numpy as np

from textlens.client.results import Entity, SentimentResult
from textlens.connectors.duckdb.cache import (
    ENTRY_OVERHEAD,
    MISSING,
    ResultCache,
    estimate_bytes,
    text_digest,
)


def test_lru_keeps_recently_used_entries() -> None:
    cache = ResultCache(max_entries=2)
    cache.put_many([(("a",), 1), (("b",), 2)])
    assert cache.get_many([("a",)]) == [1]  # "a" is now the most recent
    cache.put_many([(("c",), 3)])
    assert cache.get_many([("a",), ("b",), ("c",)]) == [1, MISSING, 3]
    assert cache.usage()[0] == 2 and cache.usage()[2] == 1


def test_byte_bound_evicts_and_skips_values_that_cannot_fit() -> None:
    vector = np.zeros(1000, dtype=np.float32)
    size = ENTRY_OVERHEAD + estimate_bytes(vector)
    cache = ResultCache(max_entries=100, max_bytes=3 * size)
    cache.put_many([((i,), vector) for i in range(5)])
    entries, used, evictions = cache.usage()
    assert entries == 3 and used <= 3 * size and evictions == 2
    tiny = ResultCache(max_entries=100, max_bytes=size - 1)
    tiny.put_many([(("big",), vector)])
    assert len(tiny) == 0


def test_disabled_cache_stores_nothing() -> None:
    cache = ResultCache(max_entries=0)
    cache.put_many([(("a",), 1)])
    assert not cache.enabled and cache.get_many([("a",)]) == [MISSING]


def test_estimates_grow_with_content() -> None:
    small = SentimentResult("positive", 1.0, {"positive": 1.0})
    big = SentimentResult("positive", 1.0, {f"l{i}": 0.1 for i in range(10)})
    assert estimate_bytes(big) > estimate_bytes(small) > 0
    spans = [Entity("Berlin", "LOC", 0, 6, 0.9)] * 3
    assert estimate_bytes(spans) > 3 * estimate_bytes(spans[0])


def test_digest_distinguishes_texts() -> None:
    assert text_digest("a") != text_digest("a ") and len(text_digest("é")) == 16
