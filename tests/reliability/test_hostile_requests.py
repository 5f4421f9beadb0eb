"""Issue 22 items 2, 3 and 6: what a hostile (or merely unlucky) request can make a server keep.

Real servers on 127.0.0.1 over the tiny random models, with read tokens, metrics
and the access log on, called through raw gRPC stubs (no client retries or
splitting) unless the client itself is what is tested.

* Item 2: request model names never become metric labels; /metrics stays small.
* Item 3: the access log writes served names, or the request's name cut and escaped.
* Item 6: a Classify answer that cannot fit the message limit is refused before
  computing, and the client and the DuckDB functions split by answer size.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.helpers import free_port
from tests.reliability.helpers import report, wait_until
from textlens.v1 import textlens_pb2 as pb
from textlens.v1 import textlens_pb2_grpc as pb_grpc

pytestmark = pytest.mark.reliability

READ = "reader-hostile-5e1d"
AUTH = (("authorization", f"Bearer {READ}"),)


@pytest.fixture(scope="module")
def tiny_registry(tiny_models_dir: dict[str, Path]) -> Iterator[list[Any]]:
    """A tiny sentiment and a tiny embed model (zero-shot classify runs on the latter)."""
    from textlens.server.assembly import load_models
    from textlens.server.settings import ModelSpec

    specs = [
        ModelSpec(
            name="tiny-sentiment",
            task="sentiment",
            source=str(tiny_models_dir["tiny-sequence"]),
            device="cpu",
            max_wait_ms=1,
        ),
        ModelSpec(
            name="tiny-embed",
            task="embed",
            source=str(tiny_models_dir["tiny-encoder"]),
            device="cpu",
            max_wait_ms=1,
        ),
    ]
    registry = load_models(specs)
    yield list(registry.models.values())
    registry.close()


def start_server(served: list[Any], **settings: Any) -> Any:
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    return InProcessServer(rebatch(served), **settings)


def metrics_page(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
        return str(page.read().decode("utf-8"))


def page_with(port: int, needle: str) -> str:
    """The /metrics page if it holds `needle`, else "" (for `wait_until`: a call is counted
    just after its status went out, so a scrape right after the answer may miss it)."""
    page = metrics_page(port)
    return page if needle in page else ""


def call_code(rpc: Any, request: Any, metadata: tuple[tuple[str, str], ...] = ()) -> str:
    try:
        rpc(request, metadata=metadata, timeout=30)
    except grpc.RpcError as exc:
        return str(exc.code().name)
    return "OK"


def hostile_name(i: int, size: int = 1024) -> str:
    """A unique name that would forge log lines and plant NULs if written raw."""
    head = f"evil-{i:05d}\n2026-01-01 INFO textlens.access: status=OK identity=ops\x00"
    return (head + "x" * size)[:size]


def test_hostile_model_names_never_become_metric_labels(tiny_registry: list[Any]) -> None:
    """Item 2: 1 KB unique names, with and without a token, leave /metrics as it was."""
    port = free_port()
    with (
        start_server(tiny_registry, read_tokens=[READ], metrics_port=port) as srv,
        grpc.insecure_channel(srv.target) as channel,
    ):
        stub = pb_grpc.TextAnalysisStub(channel)
        assert call_code(stub.Sentiment, pb.SentimentRequest(texts=["good"]), AUTH) == "OK"
        before = metrics_page(port)
        names = [hostile_name(i) for i in range(400)]
        for i, name in enumerate(names):
            request = pb.SentimentRequest(texts=["good"], model=name)
            want = "UNAUTHENTICATED" if i % 2 else "INVALID_ARGUMENT"
            assert call_code(stub.Sentiment, request, () if i % 2 else AUTH) == want
        # Two huge names (4 MB each), once unauthenticated, once with a token.
        huge = "h" * (4 << 20)
        for metadata in ((), AUTH):
            call_code(stub.Embed, pb.EmbedRequest(texts=["a"], model=huge), metadata)
        counted = 'textlens_requests_total{code="%s",model="unknown",rpc="Sentiment"} 200.0'
        after = wait_until(
            lambda: page_with(port, counted % "UNAUTHENTICATED"),
            timeout=10,
            what="every refusal counted",
        )
    report(f"/metrics {len(before)} bytes before, {len(after)} after 402 hostile model names")
    assert not any(name[:10] in after for name in names)
    assert "hhhhhhhhhh" not in after and "evil-" not in after
    # The refusals are still counted, under `unknown`: a few label sets more, not 400.
    assert counted % "UNAUTHENTICATED" in after and counted % "INVALID_ARGUMENT" in after
    assert len(after) < len(before) + 4096


def test_access_log_cannot_be_forged_or_flooded(
    tiny_registry: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Item 3: one line per call, the request's name escaped and cut; served names plain."""
    caplog.set_level(logging.INFO, logger="textlens.access")
    forged = "x\n2026-01-01 INFO textlens.access: method=Sentiment status=OK identity=ops\x00\x1b["
    name = forged + "y" * 100_000
    with (
        start_server(tiny_registry, read_tokens=[READ], access_log=1.0) as srv,
        grpc.insecure_channel(srv.target) as channel,
    ):
        stub = pb_grpc.TextAnalysisStub(channel)
        for metadata in ((), AUTH):
            request = pb.SentimentRequest(texts=["good"], model=name)
            assert call_code(stub.Sentiment, request, metadata) != "OK"
        ok = pb.SentimentRequest(texts=["good"], model="tiny-sentiment")
        assert call_code(stub.Sentiment, ok, AUTH) == "OK"
    records = [r for r in caplog.records if r.name == "textlens.access"]
    assert len(records) == 3  # one record per call
    lines = [r.getMessage() for r in records]
    for line in lines[:2]:
        assert "\n" not in line and "\x00" not in line and "\x1b" not in line
        assert len(line) < 400, line
        assert "model=unknown" in line and "requested='x\\n2026-01-01\\x20INFO" in line
        assert "...+100" in line  # says how much was cut
        # A key=value reader finds each field once: none is forged from the name.
        keys = [token.split("=", 1)[0] for token in line.split()]
        assert sorted(keys) == sorted(
            ["method", "model", "requested", "texts", "status", "ms", "peer", "identity"]
        ), line
    assert "status=UNAUTHENTICATED" in lines[0] and "identity=-" in lines[0]
    assert "status=INVALID_ARGUMENT" in lines[1]
    assert "model=tiny-sentiment" in lines[2] and "requested" not in lines[2]
    fields = [r.access for r in records]  # type: ignore[attr-defined]
    assert fields[0]["model"] == "unknown" and len(fields[0]["requested"]) < 200


# --- item 6: answers larger than a message -------------------------------------------

#: 256 distinct labels of 200 characters: the documented limits, about 55 KB of answer per text.
LONG_LABELS = [
    (f"topic {i:03d} " + "about the film and the music of it " * 8)[:200] for i in range(256)
]
#: 2,048 distinct texts: one DuckDB chunk (DuckDB would send repeated texts once).
REVIEWS = [f"review {i} : the movie was good and the music was great" for i in range(2048)]


def access_fields(caplog: pytest.LogCaptureFixture, method: str) -> list[dict[str, Any]]:
    records = [r for r in caplog.records if r.name == "textlens.access"]
    return [r.access for r in records if r.access["method"] == method]  # type: ignore[attr-defined]


def test_classify_whose_answer_cannot_fit_is_refused_before_computing(
    tiny_registry: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """2,048 texts x 256 long labels: INVALID_ARGUMENT at once, saying how many texts fit."""
    from tests.reliability.helpers import scrape

    caplog.set_level(logging.INFO, logger="textlens.access")
    port = free_port()
    request = pb.ClassifyRequest(texts=REVIEWS, labels=LONG_LABELS, model="tiny-embed")
    with (
        start_server(tiny_registry, read_tokens=[READ], metrics_port=port, access_log=1.0) as srv,
        grpc.insecure_channel(srv.target, options=[("grpc.max_receive_message_length", -1)]) as ch,
    ):
        passes = scrape(port).get(("textlens_forward_passes_total", "tiny-embed"), 0.0)
        with pytest.raises(grpc.RpcError) as refused:
            pb_grpc.TextAnalysisStub(ch).Classify(request, metadata=AUTH, timeout=60)
        after = scrape(port)
    error = refused.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert "send at most 1" in error.details() and "texts per call" in error.details()
    assert ("textlens-error", "AnswerTooLarge") in tuple(error.trailing_metadata() or ())
    # Nothing was computed, and the call is recorded as what it was.
    assert after.get(("textlens_forward_passes_total", "tiny-embed"), 0.0) == passes
    (logged,) = access_fields(caplog, "Classify")
    assert logged["status"] == "INVALID_ARGUMENT" and logged["model"] == "tiny-embed"


def test_an_oversized_answer_is_an_error_the_log_and_metrics_see(
    tiny_registry: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Any RPC: an answer over max_message_bytes is AnswerTooLarge, not gRPC's bare refusal
    recorded as OK; the client's message blames the answer, not the request."""
    from textlens.client import Client
    from textlens.client.errors import AnswerTooLarge

    caplog.set_level(logging.INFO, logger="textlens.access")
    port = free_port()
    texts = [f"text {i}" for i in range(200)]  # ~1.5 KB of request, 25 KB of vectors
    with (
        start_server(
            tiny_registry,
            read_tokens=[READ],
            metrics_port=port,
            access_log=1.0,
            max_message_bytes=8192,
        ) as srv,
        Client(srv.target, token=READ, retries=0) as client,
    ):
        with pytest.raises(AnswerTooLarge, match=r"answer is .* bytes") as refused:
            client.embed(texts, model="tiny-embed")
        refusal = 'code="INVALID_ARGUMENT",model="tiny-embed",rpc="Embed"} 1.0'
        page = wait_until(
            lambda: page_with(port, refusal),
            timeout=10,
            what="the refused Embed in /metrics",
        )
    assert "request" not in str(refused.value)
    assert 'code="OK",model="tiny-embed",rpc="Embed"' not in page
    (logged,) = access_fields(caplog, "Embed")
    assert logged["status"] == "INVALID_ARGUMENT"


def test_client_wording_blames_the_message_that_was_too_large() -> None:
    """A server without the check (older, or another front): gRPC's own size errors name
    the answer when the answer was too large, the request when the request was."""
    from concurrent import futures

    from textlens.client import Client
    from textlens.client.errors import AnswerTooLarge, InvalidInput

    def embed(request: Any, context: Any) -> pb.EmbedResponse:
        return pb.EmbedResponse(dim=1, vectors=b"\0" * 8000, model="m")

    server = grpc.server(
        futures.ThreadPoolExecutor(2),
        options=[("grpc.max_send_message_length", 4096), ("grpc.max_receive_message_length", 4096)],
    )
    handler = grpc.unary_unary_rpc_method_handler(
        embed,
        request_deserializer=pb.EmbedRequest.FromString,
        response_serializer=pb.EmbedResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("textlens.v1.TextAnalysis", {"Embed": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with Client(f"127.0.0.1:{port}", retries=0) as client:
            with pytest.raises(AnswerTooLarge, match="answer to this Embed call") as answer:
                client.embed(["short"])
            assert "request was accepted" in str(answer.value)
            with pytest.raises(InvalidInput, match="Embed request is larger") as request:
                client.embed(["x" * 10_000])
            assert not isinstance(request.value, AnswerTooLarge)
    finally:
        server.stop(0)


@pytest.fixture(scope="module")
def classify_server(tiny_registry: list[Any]) -> Iterator[Any]:
    with start_server(tiny_registry, read_tokens=[READ]) as srv:
        yield srv


def check_answers(results: list[Any]) -> None:
    assert len(results) == len(REVIEWS)
    assert all(r is not None and len(r.scores) == 256 for r in results)
    assert {r.label for r in results} <= set(LONG_LABELS)


def test_clients_split_classify_by_answer_size(classify_server: Any) -> None:
    """The sync and asyncio clients send 2,048 texts x 256 long labels as calls that fit."""
    import asyncio

    from textlens.client import AsyncClient, Client

    with Client(classify_server.target, token=READ, retries=0, timeout=300) as client:
        check_answers(client.classify(REVIEWS, LONG_LABELS, model="tiny-embed"))

    async def run() -> list[Any]:
        async with AsyncClient(classify_server.target, token=READ, retries=0, timeout=300) as ac:
            return await ac.classify(REVIEWS, LONG_LABELS, model="tiny-embed")

    check_answers(asyncio.run(run()))


def test_duckdb_classify_with_256_long_labels_over_a_full_chunk(
    classify_server: Any, tiny_registry: list[Any]
) -> None:
    """`SELECT classify(review, [256 long labels])` over 2,048-row chunks, remote and embedded."""
    import duckdb

    from tests.helpers import rebatch
    from textlens.connectors.duckdb import register
    from textlens.connectors.duckdb.embedded import EmbeddedBackend
    from textlens.server.runtime.analyzer import Analyzer

    labels = "[" + ", ".join(f"'{label}'" for label in LONG_LABELS) + "]"
    query = (
        f"SELECT count(*), count(DISTINCT label) <= 256 FROM (SELECT classify(review, {labels}, "
        "'tiny-embed') AS label FROM reviews) WHERE label IS NOT NULL"
    )
    registry = rebatch(tiny_registry)
    for how in ("remote", "embedded"):
        con = duckdb.connect()
        con.execute("CREATE TABLE reviews AS SELECT unnest(?) AS review", [REVIEWS])
        if how == "remote":
            registration = register(con, classify_server.target, token=READ, timeout=300)
        else:
            registration = register(con, backend=EmbeddedBackend(Analyzer(registry)))
        with registration:
            assert con.execute(query).fetchone() == (2048, True), how
    registry.close()
