"""What the server must answer to an arbitrary request: the fuzz tests' oracle.

Written from the proto comments and the README's error table, not from the
server's code: a request is parsed here the way any protobuf peer parses it,
then plain rules decide the allowed status codes (INVALID_ARGUMENT exactly
when a field is out of range; OK whenever everything is valid and nothing can
be too long) and, for an OK answer, the invariants of the response.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from hypothesis import strategies as st

from textlens.v1 import textlens_pb2 as pb

SERVICE = "textlens.v1.TextAnalysis"
METHODS = tuple(pb.DESCRIPTOR.services_by_name["TextAnalysis"].methods_by_name)
ADMIN_TOKEN = "fuzz-admin-token-0123456789"
#: The README's limits: candidate labels, aspect targets.
MAX_LABELS, MAX_LABEL_CHARS, MAX_TARGET_CHARS = 256, 200, 200
OK, INVALID = grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT
#: Codes the server raises itself, always with a `textlens-error` trailer.
TEXTLENS_CODES = {
    INVALID,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
}
Metadata = tuple[tuple[str, str], ...]


def request_class(method: str) -> Any:
    return getattr(pb, pb.DESCRIPTOR.services_by_name["TextAnalysis"].methods_by_name[method]
                   .input_type.name)  # fmt: skip


def response_class(method: str) -> Any:
    return getattr(pb, pb.DESCRIPTOR.services_by_name["TextAnalysis"].methods_by_name[method]
                   .output_type.name)  # fmt: skip


@dataclass
class RawAnswer:
    code: grpc.StatusCode
    details: str
    trailers: dict[str, str]
    body: bytes | None
    texts: int


def parse(method: str, data: bytes) -> Any | None:
    """The request as any protobuf peer reads it, or None if it does not parse."""
    try:
        return request_class(method).FromString(data)
    except Exception:
        return None


def call_raw(channel: grpc.Channel, method: str, data: bytes, metadata: Metadata) -> RawAnswer:
    """Send `data` as the request bytes, unserialized: whatever they are reaches the server."""
    rpc = channel.unary_unary(
        f"/{SERVICE}/{method}", request_serializer=None, response_deserializer=None
    )
    parsed = parse(method, data) if method in METHODS else None
    texts = len(parsed.texts) if parsed is not None and hasattr(parsed, "texts") else 0
    try:
        body = rpc(data, timeout=120, metadata=metadata or None)
    except grpc.RpcError as err:
        trailers = {k: str(v) for k, v in (err.trailing_metadata() or ())}  # type: ignore[attr-defined]
        return RawAnswer(err.code(), err.details() or "", trailers, None, texts)  # type: ignore[attr-defined]
    return RawAnswer(OK, "", {}, body, texts)


def _labels_ok(labels: list[str], template: str) -> bool:
    return (
        2 <= len(labels) <= MAX_LABELS
        and all(label.strip() for label in labels)
        and max(len(label) for label in labels) <= MAX_LABEL_CHARS
        and len(set(labels)) == len(labels)
        and (not template or "{}" in template)
    )


def expected_codes(
    models: Mapping[str, str], method: str, data: bytes, metadata: Metadata
) -> frozenset[grpc.StatusCode]:
    """The codes allowed for `data` sent to `method` on a server serving `models` {name: task}."""
    msg = parse(method, data)
    if msg is None:
        return frozenset({INVALID})
    if method in ("ListModels", "Language"):  # Language: no model, no options to get wrong
        return frozenset({OK})
    if method == "ReloadModels":
        if dict(metadata).get("authorization") == f"Bearer {ADMIN_TOKEN}":
            # No model registry: FAILED_PRECONDITION, or a name it does not know.
            return frozenset({OK, INVALID, grpc.StatusCode.FAILED_PRECONDITION})
        return frozenset({grpc.StatusCode.UNAUTHENTICATED})

    def model_is(task: str) -> bool:
        return msg.model == "" or models.get(msg.model) == task

    invalid = msg.truncation not in (pb.TRUNCATION_TRUNCATE, pb.TRUNCATION_ERROR)
    if method == "Sentiment":
        invalid |= not model_is("sentiment")
    elif method == "Entities":
        invalid |= not model_is("ner") or msg.offsets not in (0, 1, 2)
    elif method == "Embed":
        invalid |= not model_is("embed") or msg.dtype not in (0, 1)
    elif method == "AspectSentiment":
        invalid |= not model_is("aspect") or len(msg.texts) != len(msg.targets)
        invalid |= any(len(t) > MAX_TARGET_CHARS for t in msg.targets)
    elif method == "Classify":
        # No fine-tuned classifier among the defaults: no labels is always refused.
        invalid |= not model_is("embed") or not _labels_ok(
            list(msg.labels), msg.hypothesis_template
        )
    if invalid:
        return frozenset({INVALID})
    if msg.truncation == pb.TRUNCATION_ERROR:
        return frozenset({OK, INVALID})  # TextTooLong for a long text
    return frozenset({OK})


def _distribution(probabilities: Mapping[str, float]) -> None:
    assert probabilities and all(0 <= p <= 1 and math.isfinite(p) for p in probabilities.values())
    assert abs(sum(probabilities.values()) - 1.0) < 1e-3, dict(probabilities)


def _slice(text: str, start: int, end: int, unit: int) -> str:
    if unit == pb.OFFSET_UNIT_UTF16:
        return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")
    if unit == pb.OFFSET_UNIT_UTF8_BYTE:
        return text.encode("utf-8")[start:end].decode("utf-8")
    return text[start:end]


def check_ok(method: str, msg: Any, body: bytes) -> None:
    """The invariants of a successful answer to the parsed request `msg`."""
    out = response_class(method).FromString(body)
    if method == "ListModels":
        assert out.models and all(m.name and m.version for m in out.models)
        return
    if method == "ReloadModels":
        return
    n = len(msg.texts)
    if method == "Embed":
        width = 4 if msg.dtype == pb.VECTOR_DTYPE_FLOAT32 else 2
        assert out.dim > 0 and out.dtype == msg.dtype and out.normalized == (not msg.skip_normalize)
        assert len(out.vectors) == n * out.dim * width, (len(out.vectors), n, out.dim)
        import numpy as np

        vectors = np.frombuffer(out.vectors, dtype="<f4" if width == 4 else "<f2").reshape(
            n, out.dim
        )
        assert np.isfinite(vectors).all()
        if out.normalized and n:
            norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
            assert np.allclose(norms, 1.0, atol=1e-2), norms
        return
    assert len(out.results) == n, (len(out.results), n)
    for i, result in enumerate(out.results):
        text = msg.texts[i]
        if method in ("Sentiment", "AspectSentiment", "Entities") and result.HasField(
            "not_scored"
        ):  # a reliable language the model does not read, or a sentiment of no text
            why = result.not_scored
            if why.reason == "empty":
                assert method == "Sentiment" and not text.strip(), (method, text)
                assert not why.language and why.confidence == 0, why
            else:
                assert why.reason == "language" and why.language not in ("en", "und"), why
            assert not getattr(result, "label", "") and not getattr(result, "entities", []), result
            continue
        if method == "Sentiment":
            assert text.strip(), f"the sentiment of {text!r} (no text) must be not_scored"
            _distribution(result.probabilities)
            assert result.label in result.probabilities and -1 <= result.score <= 1
        elif method == "AspectSentiment":
            target = msg.targets[i]
            if not target.strip():
                assert not result.mentioned, (text, target)
            if target.isascii() and target.isalpha() and f" {target} " in f" {text} ":
                assert result.mentioned, f"{target!r} is a whole word of {text!r}"
            if result.mentioned:
                _distribution(result.probabilities)
            else:
                assert not result.label and not result.probabilities
        elif method == "Entities":
            for e in result.entities:
                assert 0 <= e.start < e.end, e
                assert _slice(text, e.start, e.end, msg.offsets) == e.text, (text, e, msg.offsets)
        elif method == "Language":
            assert result.language and 0 <= result.confidence <= 1, result
            from textlens.server.language.detector import RELIABLE_CONFIDENCE as RELIABLE

            if abs(result.confidence - RELIABLE) > 1e-6:  # float32 on the wire
                assert result.reliable == (result.confidence >= RELIABLE), result
            if result.language == "und":
                assert result.confidence == 0 and not result.reliable, (text, result)
        elif method == "Classify":
            assert set(result.scores) == set(msg.labels) and result.label in msg.labels
            _distribution(result.scores)


def check_answer(
    method: str,
    data: bytes,
    metadata: Metadata,
    answer: RawAnswer,
    allowed: frozenset[grpc.StatusCode],
) -> None:
    where = f"{method} <- {data[:300]!r} ({len(data)} bytes), metadata {metadata}"
    assert answer.code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
        f"{answer.code.name} for {where}: {answer.details}"
    )
    assert answer.code in allowed, (
        f"{answer.code.name} ({answer.details}) for {where}; expected one of "
        f"{sorted(c.name for c in allowed)}"
    )
    if answer.code in TEXTLENS_CODES:
        assert "textlens-error" in answer.trailers, f"no textlens-error trailer: {where}"
    if answer.code == OK:
        assert answer.body is not None
        check_ok(method, parse(method, data), answer.body)


# --- strategies -----------------------------------------------------------------------


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


@st.composite
def _crafted(draw: Any) -> bytes:
    """Hand-built fields: right and wrong wire types, invalid UTF-8, lengths that lie."""
    out = bytearray()
    for _ in range(draw(st.integers(1, 6))):
        number = draw(st.integers(1, 8))
        wire = draw(st.sampled_from([0, 0, 1, 2, 2, 2, 3, 4, 5, 6, 7]))
        out += _varint(number << 3 | wire)
        if wire == 0:
            out += _varint(draw(st.integers(-(2**63), 2**64 - 1)))
        elif wire == 1:
            out += draw(st.binary(min_size=8, max_size=8))
        elif wire == 5:
            out += draw(st.binary(min_size=4, max_size=4))
        elif wire == 2:
            payload = draw(st.one_of(st.binary(max_size=24), st.sampled_from(
                [b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ok\x80"])))  # fmt: skip
            lie = draw(st.sampled_from([0, 0, 0, 1, -1, 1000]))
            out += _varint(max(0, len(payload) + lie)) + payload
    return bytes(out)


@st.composite
def _mutated(draw: Any, message: Any) -> bytes:
    """A valid message with one byte flipped, inserted or the tail cut off."""
    data = bytearray(draw(message))
    if not data:
        return b"\x0a\x01\xff"
    i = draw(st.integers(0, len(data) - 1))
    action = draw(st.sampled_from(["flip", "insert", "cut"]))
    if action == "flip":
        data[i] ^= draw(st.integers(1, 255))
    elif action == "insert":
        data.insert(i, draw(st.integers(0, 255)))
    else:
        del data[i:]
    return bytes(data)


def _messages(models: list[str], text: Any) -> dict[str, Any]:
    """A strategy of random (mostly well-typed) request messages, by method."""
    # Mostly valid values, so that OK answers (and their invariants) are common too.
    model = st.one_of(st.just(""), st.just(""), st.sampled_from(models), st.text(max_size=20))
    enum = st.one_of(
        st.just(0), st.just(0), st.sampled_from([1, 2]), st.integers(-(2**31), 2**31 - 1)
    )
    texts = st.lists(text, max_size=6)
    label = st.one_of(
        st.sampled_from(["sports", "finance", "", " ", "y" * 201]), st.text(max_size=25)
    )
    template = st.sampled_from(["", "This text is about {}.", "no placeholder", "{}{}", "{"])
    short = st.one_of(st.sampled_from(["Berlin", "battery", "", " ", "x" * 201]), text)
    return {
        "Sentiment": st.builds(pb.SentimentRequest, texts=texts, model=model, truncation=enum),
        "Entities": st.builds(
            pb.EntitiesRequest, texts=texts, model=model, truncation=enum, offsets=enum
        ),
        "Embed": st.builds(
            pb.EmbedRequest,
            texts=texts,
            model=model,
            truncation=enum,
            dtype=enum,
            skip_normalize=st.booleans(),
        ),
        "AspectSentiment": st.integers(0, 5).flatmap(
            lambda n: st.builds(
                pb.AspectSentimentRequest,
                texts=st.lists(text, min_size=n, max_size=n),
                targets=st.one_of(st.lists(short, min_size=n, max_size=n), st.lists(short)),
                model=model,
                truncation=enum,
            )
        ),
        "Classify": st.builds(
            pb.ClassifyRequest,
            texts=texts,
            labels=st.lists(label, max_size=5),
            model=model,
            hypothesis_template=template,
            truncation=enum,
        ),
        "Language": st.builds(pb.LanguageRequest, texts=texts),
        "ListModels": st.just(pb.ListModelsRequest()),
        "ReloadModels": st.builds(pb.ReloadModelsRequest, names=st.lists(model, max_size=3)),
    }


def request_strategy(models: list[str], text: Any) -> Any:
    """(method, request bytes, metadata): structured messages, crafted and mutated bytes."""
    messages = _messages(models, text)
    token = st.one_of(
        st.just(ADMIN_TOKEN), st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126))
    )
    metadata = st.one_of(st.just(()), token.map(lambda t: (("authorization", f"Bearer {t}"),)))

    def case(method: str) -> Any:
        serialized = messages[method].map(lambda m: m.SerializeToString())
        data = st.one_of(
            serialized, serialized, _crafted(), _mutated(serialized), st.binary(max_size=64)
        )
        return st.tuples(st.just(method), data, metadata)

    return st.sampled_from(METHODS).flatmap(case)
