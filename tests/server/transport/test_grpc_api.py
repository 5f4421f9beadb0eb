"""Every RPC against a real `textlens serve` process on a loopback port."""

from __future__ import annotations

import numpy as np
import pytest

from textlens.client import Client
from textlens.client.results import NOT_SCORED_EMPTY, NotScored
from textlens.server.process import ServerProcess


@pytest.fixture(scope="module")
def server() -> ServerProcess:
    with ServerProcess() as proc:
        yield proc


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Client:
    with Client(server.target, timeout=120) as c:
        yield c


def test_health_and_reflection(server: ServerProcess, client: Client) -> None:
    import grpc
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    assert client.health()
    assert client.health("textlens.v1.TextAnalysis")
    with grpc.insecure_channel(server.target) as channel:
        services = ProtoReflectionDescriptorDatabase(channel).get_services()
    assert "textlens.v1.TextAnalysis" in services
    assert "grpc.health.v1.Health" in services


def test_list_models_describes_the_defaults(client: Client) -> None:
    models = {m.name: m for m in client.list_models()}
    assert {m.task for m in models.values()} >= {"sentiment", "ner", "embed"}
    sentiment = next(m for m in models.values() if m.task == "sentiment" and m.is_default)
    assert sentiment.name == "sentiment-minilm"
    assert set(sentiment.labels) == {"negative", "neutral", "positive"}
    aspect = next(m for m in models.values() if m.task == "aspect")
    assert aspect.is_default and set(aspect.labels) == {"negative", "neutral", "positive"}
    ner = next(m for m in models.values() if m.task == "ner")
    assert {"B-PER", "I-ORG", "B-LOC", "B-MISC"} <= set(ner.labels)
    embed = next(m for m in models.values() if m.task == "embed")
    assert embed.dim == 384
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    for m in models.values():
        assert len(m.version) == 12 and m.device.startswith(device)
        # What `auto` picked on this machine, and why (textlens.server.inference).
        assert (m.backend, m.dtype) in {
            ("torch", "float32"),
            ("torch", "bfloat16"),
            ("torch", "float16"),
            ("onnx", "float32"),
            ("onnx", "int8"),
            ("openvino", "float32"),
            ("openvino", "bfloat16"),
            ("openvino", "int8"),
        }
        assert m.backend_reason and f"{m.backend}/{m.dtype}" in m.backend_reason
        assert m.source.startswith("builtin:") and m.max_length > 0


def test_sentiment_labels_by_name_and_polarity(client: Client) -> None:
    texts = ["I love it", "terrible, broke after a day", None, ""]
    love, broke, null, empty = client.sentiment(texts)
    assert null is None
    assert empty == NotScored(NOT_SCORED_EMPTY, "", 0.0)  # no text, no opinion
    assert love is not None and love.label == "positive" and love.score > 0.5
    assert broke is not None and broke.label == "negative" and broke.score < -0.5
    for r in (love, broke):
        assert r is not None
        assert set(r.probabilities) == {"positive", "neutral", "negative"}
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert r.score == pytest.approx(
            r.probabilities["positive"] - r.probabilities["negative"], abs=1e-6
        )
        assert -1.0 <= r.score <= 1.0


def test_entities_with_offsets(client: Client) -> None:
    text = "Angela Merkel visited Siemens in Berlin on Tuesday."
    (spans,) = client.entities([text])
    assert spans is not None
    found = {(e.text, e.label) for e in spans}
    assert {("Angela Merkel", "PER"), ("Siemens", "ORG"), ("Berlin", "LOC")} <= found
    for e in spans:
        assert text[e.start : e.end] == e.text
        assert 0 < e.score <= 1


def test_entity_offsets_are_python_str_indices(client: Client) -> None:
    texts = [
        "😀🎉 Emmanuel Macron flew to Zürich with Nestlé.",
        "",
        None,
        "no entities here at all",
    ]
    results = client.entities(texts)
    assert results[1] == [] and results[2] is None
    for text, spans in zip(texts, results, strict=True):
        for e in spans or []:
            assert text is not None and text[e.start : e.end] == e.text
    assert any(e.label == "PER" and "Macron" in e.text for e in results[0] or [])


def test_embeddings_have_dim_and_unit_norm(client: Client) -> None:
    texts = [
        "The cat sat on the mat.",
        "A kitten is sitting on a rug.",
        "Quarterly revenue grew 8%.",
        "",
    ]
    vectors = client.embed(texts)
    matrix = np.stack([v for v in vectors if v is not None])
    assert matrix.shape == (4, 384) and matrix.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    sims = matrix @ matrix.T
    assert sims[0, 1] > sims[0, 2] + 0.2
    half = client.embed(texts, dtype="float16")
    np.testing.assert_allclose(np.stack(half), matrix, atol=2e-3)
    raw = client.embed(texts[:1], normalize=False)[0]
    assert raw is not None and abs(float(np.linalg.norm(raw)) - 1.0) > 1e-3


def test_zero_shot_classify_ranks_the_obvious_label_first(client: Client) -> None:
    labels = ["sports", "finance", "cooking"]
    results = client.classify(
        [
            "The striker scored twice in the cup final.",
            "Shares fell 5% after the earnings call.",
            "Whisk the eggs and fold in the flour.",
            None,
        ],
        labels=labels,
        hypothesis_template="This text is about {}.",
    )
    assert [r.label if r else None for r in results] == ["sports", "finance", "cooking", None]
    for r in results[:3]:
        assert r is not None and set(r.scores) == set(labels)
        assert sum(r.scores.values()) == pytest.approx(1.0, abs=1e-5)
        assert r.scores[r.label] == max(r.scores.values())


def test_responses_over_grpcs_4mb_default_pass(server: ServerProcess) -> None:
    """4096 x 384 float32 vectors is 6.3 MB: both sides must allow it."""
    import grpc

    from textlens.client.limits import MAX_MESSAGE_BYTES
    from textlens.v1 import textlens_pb2 as pb
    from textlens.v1 import textlens_pb2_grpc as pb_grpc

    options = [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ]
    texts = [f"short text number {i}" for i in range(4096)]
    with grpc.insecure_channel(server.target, options=options) as channel:
        response = pb_grpc.TextAnalysisStub(channel).Embed(
            pb.EmbedRequest(texts=texts), timeout=300
        )
    assert response.dim == 384 and len(response.vectors) == 4096 * 384 * 4 > 4 * 1024 * 1024


def test_aspect_sentiment_toward_each_target(client: Client) -> None:
    tesla = "Tesla shares jump while Ford slips on weak guidance"
    phone = "The battery is great but the screen scratches easily"
    texts = [tesla, tesla, phone, phone, phone, None, "", phone]
    targets = ["Tesla", "Ford", "battery", "screen", "price", "x", "price", None]
    got = client.aspect_sentiment(texts, targets)
    labels = [r.label if r is not None else None for r in got]
    assert labels == ["positive", "negative", "positive", "negative", None, None, None, None]
    for r in got[:4]:
        assert r is not None and set(r.probabilities) == {"positive", "neutral", "negative"}
        assert r.score == pytest.approx(
            r.probabilities["positive"] - r.probabilities["negative"], abs=1e-6
        )


def test_aspect_sentiment_bad_requests_are_invalid_argument(server: ServerProcess) -> None:
    import grpc

    from textlens.v1 import textlens_pb2 as pb
    from textlens.v1 import textlens_pb2_grpc as pb_grpc

    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.TextAnalysisStub(channel)
        bad = [
            (pb.AspectSentimentRequest(texts=["a", "b"], targets=["a"]), "2 texts but 1 targets"),
            (pb.AspectSentimentRequest(texts=["a"], targets=["x" * 201]), "at most 200"),
            (
                pb.AspectSentimentRequest(texts=["a"], targets=["a"], model="ner-minilm"),
                "serves ner, not aspect",
            ),
        ]
        for request, message in bad:
            with pytest.raises(grpc.RpcError) as info:
                stub.AspectSentiment(request, timeout=30)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert message in info.value.details()
        # A target that is not mentioned is not an error: mentioned = false, no label.
        reply = stub.AspectSentiment(
            pb.AspectSentimentRequest(texts=["good food", "good food"], targets=["food", "wine"]),
            timeout=30,
        )
        first, second = reply.results
        assert first.mentioned and first.label == "positive"
        assert not second.mentioned and second.label == "" and not second.probabilities
        assert reply.model == "aspect-minilm" and len(reply.model_version) == 12


def test_entity_offsets_in_utf16_and_utf8_units(server: ServerProcess) -> None:
    """Issue 12 item 8: JavaScript/Java slice UTF-16 code units, Go/Rust bytes."""
    import grpc

    from textlens.v1 import textlens_pb2 as pb
    from textlens.v1 import textlens_pb2_grpc as pb_grpc

    text = "😀 Café owner Angela Merkel visited Zürich and Berlin."
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.TextAnalysisStub(channel)
        by_unit = {
            unit: stub.Entities(pb.EntitiesRequest(texts=[text], offsets=unit), timeout=60)
            .results[0]
            .entities
            for unit in (pb.OFFSET_UNIT_CODE_POINT, pb.OFFSET_UNIT_UTF16, pb.OFFSET_UNIT_UTF8_BYTE)
        }
        with pytest.raises(grpc.RpcError) as err:
            stub.Entities(pb.EntitiesRequest(texts=[text], offsets=9), timeout=60)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    points = by_unit[pb.OFFSET_UNIT_CODE_POINT]
    assert any(e.text == "Berlin" for e in points)
    utf16 = text.encode("utf-16-le")
    utf8 = text.encode("utf-8")
    for cp, u16, u8 in zip(
        points, by_unit[pb.OFFSET_UNIT_UTF16], by_unit[pb.OFFSET_UNIT_UTF8_BYTE], strict=True
    ):
        assert text[cp.start : cp.end] == cp.text
        assert utf16[2 * u16.start : 2 * u16.end].decode("utf-16-le") == cp.text
        assert utf8[u8.start : u8.end].decode("utf-8") == cp.text
        assert u16.start == cp.start + 1  # the emoji is two UTF-16 units, one code point
