"""Prometheus /metrics, scraped over real HTTP from a real server: the counters move."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.helpers import free_port, scrape, value
from textlens.client import Client
from textlens.client.errors import UnknownModel


def test_metrics_count_requests_texts_errors_and_forward_passes(inprocess_server: Any) -> None:
    port = free_port()
    srv = inprocess_server(metrics_port=port)
    before = scrape(port)
    with Client(srv.target, retries=0) as c:
        c.sentiment(["great", "awful", "fine"])
        with pytest.raises(UnknownModel):
            c.sentiment(["x"], model="no-such-model")
    # The server counts a call when its handler returns, which can be a moment after
    # the client has the answer (a fresh-clone run on a busy machine scraped first).
    bad = dict(rpc="Sentiment", model="unknown", code="INVALID_ARGUMENT")
    deadline = time.monotonic() + 10
    after = scrape(port)
    while value(after, "textlens_requests_total", **bad) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        after = scrape(port)
    ok = dict(rpc="Sentiment", code="OK")
    assert (
        value(after, "textlens_requests_total", **ok)
        == value(before, "textlens_requests_total", **ok) + 1
    )
    # A name no model has is counted as `unknown`, never under the request's string.
    assert value(after, "textlens_requests_total", **bad) == 1
    assert (
        value(after, "textlens_texts_total", rpc="Sentiment")
        - value(before, "textlens_texts_total", rpc="Sentiment")
        == 4
    )
    assert value(after, "textlens_request_seconds_count", rpc="Sentiment") >= 2
    model = dict(model="sentiment-minilm")
    assert value(after, "textlens_forward_passes_total", **model) > value(
        before, "textlens_forward_passes_total", **model
    )
    assert value(after, "textlens_real_tokens_total", **model) <= value(
        after, "textlens_padded_tokens_total", **model
    )
    assert value(after, "textlens_forward_seconds_total", **model) > 0
    assert value(after, "textlens_model_info", model="sentiment-minilm") == 1
    assert value(after, "textlens_queue_texts", **model) == 0
    waited = value(after, "textlens_queue_wait_seconds_count", **model) - value(
        before, "textlens_queue_wait_seconds_count", **model
    )
    assert waited >= 1 and value(after, "textlens_queue_wait_seconds_sum", **model) > 0
    passes = value(after, "textlens_batch_rows_count", **model)
    assert passes == value(after, "textlens_forward_passes_total", **model)
    assert value(after, "textlens_batch_rows_sum", **model) >= passes  # >= 1 text per pass
    # Cancelled work (issue 22, item 5) is exported beside the deadline drops.
    stats = srv.registry.models["sentiment-minilm"].batcher.stats
    for name, count in (
        ("textlens_cancelled_total", stats.cancelled),
        ("textlens_abandoned_rows_total", stats.abandoned_rows),
    ):
        assert f'{name}{{model="sentiment-minilm"}}' in after, name
        assert value(after, name, **model) == count
