"""Issue 22 items 5, 8 and 13: the server stops work nobody waits for, and small calls go first.

* Item 5: a client that cancels a big sentence-mode request (one text becomes
  one row per sentence) frees the model within a pass or two: the runtime's
  own counters stop growing, and a 1-text call right after answers at once.
  Before the fix the server computed every remaining row.
* Item 8: 1-text calls on one model beside bulk work on another model; the
  CPU lock serves small rounds' passes first, so they wait for at most the
  bulk pass in progress (the ordering itself is unit-tested deterministically
  in tests/server/inference/test_cpu_lock.py).
* Item 13: under `truncation = error` a sentence-mode model names the text
  of the request, not the sentence's position among all sentences.

Real gRPC servers on 127.0.0.1 in this process (the runtime's BatchStats are
read directly) over the tiny random models, on the CPU with torch float32 (no
engine measurement at load). Progress is observed, never assumed from a sleep.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from textlens.client import Client
from textlens.client.errors import TextTooLong
from textlens.v1 import textlens_pb2 as pb
from textlens.v1 import textlens_pb2_grpc as pb_grpc

from .conftest import report, wait_until

pytest.importorskip("torch", reason="the tiny models need the `models` extra")

pytestmark = pytest.mark.reliability

#: Passes of the big request: one text is 64 short sentences, the most a text is split into.
SENTENCES = 64


def document(i: int) -> str:
    return " ".join(f"Item {i} sentence {k} is good." for k in range(SENTENCES))


@pytest.fixture(scope="module")
def sentence_server(
    tiny_models_dir: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A server of two tiny models: sentiment by sentence, and embed; one thread."""
    from textlens.server.runtime.registry import ModelRegistry
    from textlens.server.settings import ModelSpec, RuntimeSettings
    from textlens.server.transport.inprocess import InProcessServer

    common = {"device": "cpu", "backend": "torch", "dtype": "float32", "max_wait_ms": 1.0}
    specs = [
        ModelSpec(
            name="tiny-sentiment",
            task="sentiment",
            source=str(tiny_models_dir["tiny-sequence"]),
            sentences=True,
            max_batch_tokens=2048,
            **common,
        ),
        ModelSpec(
            name="tiny-embed", task="embed", source=str(tiny_models_dir["tiny-encoder"]), **common
        ),
    ]
    cache = tmp_path_factory.mktemp("scheduling-cache")
    registry = ModelRegistry.load(specs, RuntimeSettings(threads=1, cache_dir=cache))
    with InProcessServer(registry) as server:
        yield server


def test_a_cancelled_call_stops_its_remaining_passes(sentence_server: Any) -> None:
    """Issue 22 item 5: cancel a 65,536-row call; the model is free within a few passes."""
    batcher = sentence_server.registry.models["tiny-sentiment"].batcher
    texts = [document(i) for i in range(1024)]
    rows = len(texts) * SENTENCES
    before = batcher.stats.snapshot()
    with grpc.insecure_channel(sentence_server.target) as channel:
        stub = pb_grpc.TextAnalysisStub(channel)
        call = stub.Sentiment.future(pb.SentimentRequest(texts=texts), timeout=300)
        wait_until(
            lambda: batcher.stats.forward_passes >= before["forward_passes"] + 3,
            timeout=120,
            what="the big request's forward passes",
        )
        call.cancel()
        cancelled_at = time.monotonic()
        at_cancel = batcher.stats.batch_rows
        wait_until(
            lambda: batcher.stats.cancelled > before["cancelled"],
            timeout=60,
            what="the server to drop the cancelled job (before the fix: never, until done)",
        )
        stopped = time.monotonic() - cancelled_at
    after = batcher.stats.snapshot()
    computed = after["batch_rows"] - before["batch_rows"]
    rows_per_pass = computed / max(1, after["forward_passes"] - before["forward_passes"])
    assert after["abandoned_rows"] - before["abandoned_rows"] == rows - computed
    assert after["batch_rows"] - at_cancel <= 3 * rows_per_pass  # the pass in progress, or two
    assert computed < rows / 2
    with Client(sentence_server.target, timeout=30, retries=0) as client:
        started = time.monotonic()
        (result,) = client.sentiment(["A good one. A bad one."])
        small = time.monotonic() - started
    assert result is not None
    report(
        f"cancelled call: {len(texts)} texts x {SENTENCES} sentences = {rows:,} rows; "
        f"server stopped {stopped * 1000:.0f} ms after the cancel with {computed:,} rows "
        f"computed ({after['batch_rows'] - at_cancel:.0f} after the cancel); "
        f"next 1-text call {small * 1000:.0f} ms"
    )
    assert small < 10


def test_truncation_error_names_the_text_not_the_sentence(sentence_server: Any) -> None:
    """Issue 22 item 13: the third sentence overall is in text #1, not "text #3"."""
    long_sentence = "Long " + "word " * 200 + "here."
    texts = ["Fine. Also fine.", "Short one. " + long_sentence]
    with (
        Client(sentence_server.target, timeout=30, retries=0) as client,
        pytest.raises(TextTooLong) as caught,
    ):
        client.sentiment(texts, truncation="error")
    message = str(caught.value)
    assert "text #1 " in message and "sentence 2 of" in message, message
    assert "#3" not in message and "#2" not in message, message
