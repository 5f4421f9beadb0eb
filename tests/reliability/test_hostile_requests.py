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

from tests.reliability.conftest import free_port, report
from textlens.v1 import textlens_pb2 as pb
from textlens.v1 import textlens_pb2_grpc as pb_grpc

pytestmark = pytest.mark.reliability

READ = "reader-hostile-5e1d"
AUTH = (("authorization", f"Bearer {READ}"),)


@pytest.fixture(scope="module")
def tiny_registry(tiny_models_dir: dict[str, Path]) -> Iterator[list[Any]]:
    """A tiny sentiment and a tiny embed model (zero-shot classify runs on the latter)."""
    from textlens.server.runtime.registry import ModelRegistry
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
    registry = ModelRegistry.load(specs)
    yield list(registry.models.values())
    registry.close()


def start_server(served: list[Any], **settings: Any) -> Any:
    from textlens.server.runtime.embedded import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    return InProcessServer(rebatch(served), **settings)


def metrics_page(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
        return str(page.read().decode("utf-8"))


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
        after = metrics_page(port)
    report(f"/metrics {len(before)} bytes before, {len(after)} after 402 hostile model names")
    assert not any(name[:10] in after for name in names)
    assert "hhhhhhhhhh" not in after and "evil-" not in after
    # The refusals are still counted, under `unknown`: a few label sets more, not 400.
    counted = 'textlens_requests_total{code="%s",model="unknown",rpc="Sentiment"} 200.0'
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
