"""Bad input gets the documented answer, and the server keeps serving."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from textlens.client import Client
from textlens.client.errors import (
    DeadlineExceeded,
    InvalidInput,
    Overloaded,
    TextTooLong,
    TooManyTexts,
    UnknownModel,
    WrongTask,
)
from textlens.client.results import NOT_SCORED_EMPTY, NotScored
from textlens.v1 import textlens_pb2 as pb
from textlens.v1 import textlens_pb2_grpc as pb_grpc

MEGABYTE_TEXT = ("The service was slow but the food was great. " * 25_000)[:1_000_000]


@pytest.fixture(scope="module")
def server(default_served: Any) -> Any:
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    with InProcessServer(rebatch(default_served), max_texts_per_request=4096) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: Any) -> Any:
    with Client(server.target, timeout=120, retries=0) as c:
        yield c


@pytest.fixture(scope="module")
def stub(server: Any) -> Any:
    channel = grpc.insecure_channel(server.target)
    yield pb_grpc.TextAnalysisStub(channel)
    channel.close()


def _code(call: Any) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    err = info.value
    trailers = dict(err.trailing_metadata() or ())
    return err.code(), err.details(), trailers


def test_unknown_model(client: Client, stub: Any) -> None:
    with pytest.raises(UnknownModel, match="served models"):
        client.sentiment(["fine"], model="no-such-model")
    code, details, trailers = _code(
        lambda: stub.Sentiment(pb.SentimentRequest(texts=["x"], model="nope"))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "nope" in details
    assert trailers["textlens-error"] == "UnknownModel"


def test_wrong_task(client: Client) -> None:
    with pytest.raises(WrongTask, match="serves embed"):
        client.sentiment(["fine"], model="minilm")
    with pytest.raises(WrongTask):
        client.entities(["fine"], model="sentiment-minilm")


def test_empty_list_and_empty_string(client: Client) -> None:
    assert client.sentiment([]) == []
    assert client.entities([]) == []
    assert client.embed([]) == []
    for blank in ("", "   ", "\n\t\u3000"):  # no text, no opinion (issue 25, item 7)
        (s,) = client.sentiment([blank])
        assert s == NotScored(NOT_SCORED_EMPTY, "", 0.0), (blank, s)
    with_words = client.sentiment(["", "I love it", " ", "broke after a day"])
    assert [type(r).__name__ for r in with_words] == [
        "NotScored",
        "SentimentResult",
        "NotScored",
        "SentimentResult",
    ]
    assert client.entities([""]) == [[]]
    (v,) = client.embed([""])
    assert v is not None and v.shape == (384,)


def test_megabyte_text_truncates_or_errors(client: Client) -> None:
    (s,) = client.sentiment([MEGABYTE_TEXT])
    assert s is not None and s.label in {"positive", "neutral", "negative"}
    (spans,) = client.entities([MEGABYTE_TEXT])
    assert spans is not None and all(MEGABYTE_TEXT[e.start : e.end] == e.text for e in spans)
    with pytest.raises(TextTooLong, match="truncation=truncate"):
        client.sentiment([MEGABYTE_TEXT], truncation="error")
    with pytest.raises(InvalidInput, match="truncation"):
        client.sentiment(["x"], truncation="chop")  # type: ignore[arg-type]


def test_lone_surrogates_are_replaced_one_for_one(client: Client) -> None:
    text = "Angela Merkel \udc80visited Berlin \ud800today"
    (spans,) = client.entities([text])
    assert spans is not None
    clean = text.replace("\udc80", "\ufffd").replace("\ud800", "\ufffd")
    assert all(clean[e.start : e.end] == e.text for e in spans)
    assert any(e.text == "Berlin" for e in spans)


def test_invalid_utf8_bytes_are_invalid_argument(server: Any) -> None:
    with grpc.insecure_channel(server.target) as channel:
        raw = channel.unary_unary("/textlens.v1.TextAnalysis/Sentiment")
        code, details, _ = _code(lambda: raw(b"\x0a\x03\xff\xfe\x41"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "UTF-8" in details


def test_too_many_texts(stub: Any, client: Client) -> None:
    code, details, trailers = _code(lambda: stub.Sentiment(pb.SentimentRequest(texts=["a"] * 4097)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "4096" in details
    assert trailers["textlens-error"] == TooManyTexts.__name__
    # The client splits big batches itself, so it never hits the limit.
    assert len(client.sentiment(["ok"] * 5000)) == 5000


def test_wrong_types_are_refused(client: Client) -> None:
    with pytest.raises(InvalidInput, match=r"texts\[0\] is int, expected str or None"):
        client.sentiment([42])  # type: ignore[list-item]


def test_zero_shot_needs_two_distinct_labels(client: Client) -> None:
    with pytest.raises(InvalidInput, match="two"):
        client.classify(["x"], labels=["only"])
    with pytest.raises(InvalidInput, match="distinct"):
        client.classify(["x"], labels=["a", "a"])
    with pytest.raises(InvalidInput, match="fine-tuned"):
        client.classify(["x"])
    with pytest.raises(InvalidInput, match=r"\{\}"):
        client.classify(["x"], labels=["a", "b"], hypothesis_template="no placeholder")


def test_server_keeps_serving_after_errors(client: Client) -> None:
    (s,) = client.sentiment(["I love it"])
    assert s is not None and s.label == "positive"


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll a real condition (never assume another thread got somewhere in N ms)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.005)


def _occupy(srv: Any, n_texts: int, *, queued: bool = False) -> threading.Thread:
    """Send one request of `n_texts` in the background; return once the batcher holds it:
    taken by the worker (its queue empty again), or with `queued` waiting in the queue."""
    batcher = srv.registry.models["sentiment-minilm"].batcher
    before = batcher.stats.requests
    texts = [
        f"review number {i}: the product is decent but the delivery took weeks"
        for i in range(n_texts)
    ]

    def run() -> None:
        with Client(srv.target, timeout=300, retries=0) as c:
            c.sentiment(texts)

    thread = threading.Thread(target=run)
    thread.start()
    if queued:
        _wait_until(lambda: batcher.queued_texts >= n_texts, f"{n_texts} texts are queued")
    else:
        _wait_until(
            lambda: batcher.stats.requests > before and batcher.queued_texts == 0,
            "the worker took the request",
        )
    return thread


def test_deadline_exceeded_drops_queued_work(inprocess_server: Any) -> None:
    srv = inprocess_server({"max_wait_ms": 0.0})
    stats = srv.registry.models["sentiment-minilm"].batcher.stats
    busy = _occupy(srv, 600)
    # A bulk request (over any round's budget: 2,048 x 33 > 16,384 tokens x 4), so it is
    # not served in between the big batch's passes as a small one would be, in time.
    with Client(srv.target, timeout=0.2, retries=0) as c, pytest.raises(DeadlineExceeded):
        c.sentiment(["queued behind a big batch"] * 2048)
    busy.join()
    # Dropped either by the worker (deadline seen) or because gRPC cancelled the
    # call first; in both cases it was never computed: only the big batch ran.
    assert stats.dropped_deadline + stats.cancelled >= 1
    with Client(srv.target, retries=0) as c:
        assert c.sentiment(["still serving"])[0] is not None


def test_queue_full_is_resource_exhausted(inprocess_server: Any) -> None:
    # Passes of at most 2,048 tokens: the 200 queued texts are a bulk job, never served
    # in between the 400's passes (small jobs are), so they stay queued.
    srv = inprocess_server({"max_queue_texts": 300, "max_wait_ms": 0.0, "max_batch_tokens": 2048})
    busy = _occupy(srv, 400)  # taken by the worker; queue is free again
    waiting = _occupy(srv, 200, queued=True)  # waits in the queue
    with Client(srv.target, retries=0) as c, pytest.raises(Overloaded, match="back off"):
        c.sentiment(["one more"] * 150)
    with grpc.insecure_channel(srv.target) as channel:
        stub = pb_grpc.TextAnalysisStub(channel)
        code, _, _ = _code(lambda: stub.Sentiment(pb.SentimentRequest(texts=["x"] * 150)))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    busy.join()
    waiting.join()
    assert srv.registry.models["sentiment-minilm"].batcher.stats.rejected_overload >= 2


# --- issue 12 regressions -----------------------------------------------------------


def test_huge_texts_under_error_are_refused_without_tokenizing(client: Client) -> None:
    """Item 2: 8 x 4 MB under truncation=error answered at once, not after a 27 s tokenize."""
    huge = ["word " * 800_000] * 8  # 4 MB each, one sentence: sentence mode cannot split it
    started = time.monotonic()
    with pytest.raises(TextTooLong, match="refused without tokenizing"):
        client.sentiment(huge, truncation="error")
    assert time.monotonic() - started < 5  # measured 27 s when the whole text was tokenized


def test_a_request_larger_than_the_queue_limit_is_admitted_when_idle(
    inprocess_server: Any,
) -> None:
    """Item 3: max_queue_texts = 4 refused a 5-text request on an idle server, forever."""
    srv = inprocess_server({"max_queue_texts": 4})
    with Client(srv.target, retries=0) as c:
        assert len(c.sentiment([f"text {i} is fine" for i in range(5)])) == 5


def test_embed_with_an_unknown_dtype_is_invalid_argument(stub: Any) -> None:
    """Item 5: an unknown VectorDtype value was answered OK and echoed back."""
    code, details, trailers = _code(lambda: stub.Embed(pb.EmbedRequest(texts=["a"], dtype=7)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "unknown vector dtype 7" in details
    assert trailers["textlens-error"] == InvalidInput.__name__


def test_candidate_labels_have_a_length_limit(client: Client) -> None:
    """Item 9: a 1 MB label was turned into a hypothesis and encoded."""
    with pytest.raises(InvalidInput, match="the limit is 200"):
        client.classify(["x"], labels=["short", "y" * 1_000_000])


def test_concurrent_rpcs_are_capped(inprocess_server: Any) -> None:
    """Item 9: no cap on RPCs in progress; now `max_concurrent_rpcs` answers RESOURCE_EXHAUSTED."""
    srv = inprocess_server(max_concurrent_rpcs=1)
    busy = _occupy(srv, 600)  # returns once the RPC is in progress (the worker has it)
    try:
        with grpc.insecure_channel(srv.target) as channel:
            stub = pb_grpc.TextAnalysisStub(channel)
            code, _, _ = _code(lambda: stub.Sentiment(pb.SentimentRequest(texts=["x"])))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        busy.join()
    with Client(srv.target, retries=0) as c:  # free again once the first RPC is done
        assert len(c.sentiment(["fine"])) == 1
