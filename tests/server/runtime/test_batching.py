"""Batching is real: concurrent requests share forward passes and get their own answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.helpers import batch_tolerance
from textlens.client import Client

POSITIVE = ["I love it", "Absolutely wonderful, would buy again", "Great value and fast shipping"]
NEGATIVE = [
    "terrible, broke after a day",
    "Awful quality, total waste of money",
    "It stopped working, very disappointed",
]


def test_64_concurrent_requests_share_forward_passes(inprocess_server: Any) -> None:
    srv = inprocess_server({"max_wait_ms": 25.0})
    stats = srv.registry.models["sentiment-minilm"].batcher.stats
    requests = []
    for i in range(64):
        pool = POSITIVE if i % 2 == 0 else NEGATIVE
        requests.append([f"{pool[i % 3]} (order {i})", pool[(i + 1) % 3]])
    with Client(srv.target, timeout=120) as solo:
        expected = [solo.sentiment(texts) for texts in requests[:4]]
    before = stats.snapshot()
    with ThreadPoolExecutor(max_workers=64) as pool_, Client(srv.target, timeout=120) as client:
        results = list(pool_.map(client.sentiment, requests))
    after = stats.snapshot()
    n_requests = after["requests"] - before["requests"]
    n_passes = after["forward_passes"] - before["forward_passes"]
    assert n_requests == 64
    assert n_passes < n_requests, f"{n_passes} forward passes for {n_requests} requests"
    for i, (texts, got) in enumerate(zip(requests, results, strict=True)):
        want = "positive" if i % 2 == 0 else "negative"
        assert [r.label for r in got] == [want, want], texts
    tolerance = batch_tolerance(srv.registry.models["sentiment-minilm"])
    for want_batch, got_batch in zip(expected, results[:4], strict=True):
        for w, g in zip(want_batch, got_batch, strict=True):
            assert g.score == pytest.approx(w.score, abs=tolerance)


def test_async_client_gathers_concurrently(inprocess_server: Any) -> None:
    import asyncio

    from textlens.client import AsyncClient

    # "Angela Merkel met Tim Cook in Berlin" is also a Dutch sentence (lid.176: nl, 0.75),
    # which the language policy would decline; this test is about batching, so score it.
    srv = inprocess_server({"max_wait_ms": 25.0, "other_languages": "score"})
    stats = srv.registry.models["ner-minilm"].batcher.stats

    async def main() -> list[Any]:
        async with AsyncClient(srv.target) as client:
            return await asyncio.gather(
                *[
                    client.entities([f"Angela Merkel met Tim Cook in Berlin ({i})."])
                    for i in range(64)
                ]
            )

    results = asyncio.run(main())
    assert stats.forward_passes < 64
    for (spans,) in results:
        assert {("Angela Merkel", "PER"), ("Berlin", "LOC")} <= {(e.text, e.label) for e in spans}
