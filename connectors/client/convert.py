"""Requests out, results back: the I/O-free half of the client.

The sync and asyncio clients only move messages; every rule about what is sent
and what comes back lives here, once, where it is testable without a server:
NULLs are dropped before sending and put back at their positions, lone
surrogates become U+FFFD, large batches become several RPCs, and vectors are
unpacked from their little-endian bytes.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from textlens.client import errors
from textlens.client.answer_size import texts_per_answer
from textlens.client.limits import MAX_MESSAGE_BYTES
from textlens.client.replies import (
    WIRE_DTYPE,
    Matrix,
    _unpack_all,
    classify_result,
    entities_result,
    language_result,
    model_info,
    sentiment_result,
    unpack_vectors,
)
from textlens.client.results import (
    TRUNCATIONS,
    ClassifyResult,
    Entity,
    LanguageResult,
    ModelInfo,
    ModelReload,
    NotScored,
    SentimentResult,
)
from textlens.v1 import textlens_pb2 as pb

__all__ = ["Matrix", "unpack_vectors"]  # re-exported: results are built in replies.py

T = TypeVar("T")
M = TypeVar("M")
Req = TypeVar("Req")
Out = TypeVar("Out")

VectorDtype = Literal["float32", "float16"]
Vector = npt.NDArray[np.float32]

_SURROGATE = re.compile("[\ud800-\udfff]")

_TRUNCATION = {"truncate": pb.TRUNCATION_TRUNCATE, "error": pb.TRUNCATION_ERROR}
_DTYPE = {"float32": pb.VECTOR_DTYPE_FLOAT32, "float16": pb.VECTOR_DTYPE_FLOAT16}


# --- texts ------------------------------------------------------------------


def clean_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, one code point for one.

    Protobuf refuses to encode surrogates, and a one-for-one replacement keeps
    entity offsets valid against the caller's original string.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


@dataclass(frozen=True)
class Batch:
    """The non-NULL texts of one call, and where their answers go back.

    `positions` is None when there was no NULL, so the common case needs no index list.
    """

    size: int
    texts: list[str]
    positions: list[int] | None = None

    @classmethod
    def of(cls, texts: Iterable[str | None]) -> Batch:
        """Drop NULLs, remembering their positions; reject anything that is not str or None."""
        if isinstance(texts, str | bytes):
            raise errors.InvalidInput(
                f"texts must be a sequence of strings, got a single {type(texts).__name__}; "
                "wrap it in a list: [text]"
            )
        try:
            items = texts if isinstance(texts, list | tuple) else list(texts)
        except TypeError:
            raise errors.InvalidInput(
                f"texts must be a sequence of str or None, got {type(texts).__name__}"
            ) from None
        values: list[str] = []
        positions: list[int] = []
        for i, text in enumerate(items):
            if text is None:
                continue
            if not isinstance(text, str):
                raise _not_a_text(i, text)
            values.append(text)
            positions.append(i)
        if len(values) == len(items):
            return cls(size=len(items), texts=values)
        return cls(size=len(items), texts=values, positions=positions)

    def chunks(self, batch_size: int) -> Iterator[list[str]]:
        """The texts, `batch_size` at a time: one RPC each."""
        if len(self.texts) <= batch_size:
            if self.texts:
                yield self.texts
            return
        for start in range(0, len(self.texts), batch_size):
            yield self.texts[start : start + batch_size]

    def chunk_sizes(self, batch_size: int) -> list[int]:
        """len() of each chunk `chunks(batch_size)` yields."""
        n = len(self.texts)
        return [min(batch_size, n - start) for start in range(0, n, batch_size)]

    def scatter(self, values: Sequence[T]) -> list[T | None]:
        """One answer per input position: `values` in order, None where the input was NULL."""
        if len(values) != len(self.texts):
            raise errors.TextlensError(
                f"the server answered {len(values)} results for {len(self.texts)} texts; "
                "the client and server versions may not match"
            )
        if self.positions is None:
            return list(values)
        out: list[T | None] = [None] * self.size
        for position, value in zip(self.positions, values, strict=True):
            out[position] = value
        return out


def _not_a_text(index: int, value: object) -> errors.InvalidInput:
    kind = type(value).__name__
    hint = ""
    if isinstance(value, bytes | bytearray):
        hint = "; decode it to str first"
    elif isinstance(value, float) and value != value:
        hint = "; pass None, not NaN, for a missing text"
    return errors.InvalidInput(f"texts[{index}] is {kind}, expected str or None{hint}")


def _with_texts(build: Callable[[list[str]], M], texts: list[str]) -> M:
    """`build(texts)`, cleaning surrogates only if protobuf refuses them (the rare case)."""
    try:
        return build(texts)
    except UnicodeEncodeError:
        return build([clean_text(t) for t in texts])


# --- options ----------------------------------------------------------------


def truncation_enum(truncation: str) -> pb.Truncation:
    """The wire value of a truncation policy; InvalidInput for anything but 'truncate'/'error'."""
    try:
        return _TRUNCATION[truncation]
    except (KeyError, TypeError):
        raise errors.InvalidInput(
            f"truncation must be one of {', '.join(map(repr, TRUNCATIONS))}, got {truncation!r}"
        ) from None


def dtype_enum(dtype: str) -> pb.VectorDtype:
    """The wire value of a vector dtype; InvalidInput for anything but 'float32'/'float16'."""
    try:
        return _DTYPE[dtype]
    except (KeyError, TypeError):
        raise errors.InvalidInput(
            f"dtype must be one of {', '.join(map(repr, _DTYPE))}, got {dtype!r}"
        ) from None


def _string_option(name: str, value: object) -> str:
    """A str option that protobuf can encode, checked before any RPC is sent."""
    if not isinstance(value, str):
        raise errors.InvalidInput(f"{name} must be a str, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.InvalidInput(
            f"{name} is not valid UTF-8 (lone surrogate): {value!r}"
        ) from None
    return value


def _labels(labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        return []
    if isinstance(labels, str | bytes):
        raise errors.InvalidInput(
            "labels must be a sequence of label strings, got a single string; "
            "pass e.g. ['positive', 'negative']"
        )
    return [_string_option(f"labels[{i}]", label) for i, label in enumerate(labels)]


# --- jobs -------------------------------------------------------------------


@dataclass(frozen=True)
class Job(Generic[Req, Out]):
    """One client call: the RPC, its requests (one per chunk), how to build the answer.

    Everything is validated when the job is made, so no RPC is sent for a call
    that would fail later. `requests` is lazy and can be iterated once.
    """

    method: str
    requests: Iterable[Req]
    finish: Callable[[list[Any]], Out]


def sentiment_job(
    texts: Iterable[str | None], model: str, truncation: str, batch_size: int
) -> Job[pb.SentimentRequest, list[SentimentResult | NotScored | None]]:
    batch = Batch.of(texts)
    model = _string_option("model", model)
    trunc = truncation_enum(truncation)

    def build(chunk: list[str]) -> pb.SentimentRequest:
        return pb.SentimentRequest(texts=chunk, model=model, truncation=trunc)

    def finish(responses: list[pb.SentimentResponse]) -> list[SentimentResult | NotScored | None]:
        return batch.scatter([sentiment_result(r) for resp in responses for r in resp.results])

    return Job("Sentiment", (_with_texts(build, c) for c in batch.chunks(batch_size)), finish)


def aspect_sentiment_job(
    texts: Sequence[str | None],
    targets: Sequence[str | None],
    model: str,
    truncation: str,
    batch_size: int,
) -> Job[pb.AspectSentimentRequest, list[SentimentResult | NotScored | None]]:
    """Pairs (texts[i], targets[i]); None where either is None or the text does not mention it."""
    if isinstance(targets, str | bytes):
        raise errors.InvalidInput(
            "targets must be a sequence of strings (one per text), got a single "
            f"{type(targets).__name__}"
        )
    batch = Batch.of(texts)
    goals = list(targets)
    if len(goals) != batch.size:
        raise errors.InvalidInput(
            f"{batch.size} texts but {len(goals)} targets; give one target per text "
            "(repeat a text once per target)"
        )
    for i, goal in enumerate(goals):
        if goal is not None:
            _string_option(f"targets[{i}]", goal)
    positions = batch.positions if batch.positions is not None else range(batch.size)
    kept = [k for k, p in enumerate(positions) if goals[p] is not None]
    pairs = Batch(size=len(batch.texts), texts=[batch.texts[k] for k in kept], positions=kept)
    pair_targets = [goals[positions[k]] or "" for k in kept]
    model = _string_option("model", model)
    trunc = truncation_enum(truncation)

    def build(start: int, chunk: list[str]) -> pb.AspectSentimentRequest:
        return pb.AspectSentimentRequest(
            texts=chunk,
            targets=pair_targets[start : start + len(chunk)],
            model=model,
            truncation=trunc,
        )

    def finish(
        responses: list[pb.AspectSentimentResponse],
    ) -> list[SentimentResult | NotScored | None]:
        values = [
            sentiment_result(r) if r.mentioned or r.HasField("not_scored") else None
            for resp in responses
            for r in resp.results
        ]
        return batch.scatter(pairs.scatter(values))

    starts = range(0, len(pairs.texts), batch_size)
    requests = (
        _with_texts(functools.partial(build, start), chunk)
        for start, chunk in zip(starts, pairs.chunks(batch_size), strict=True)
    )
    return Job("AspectSentiment", requests, finish)


def entities_job(
    texts: Iterable[str | None], model: str, truncation: str, batch_size: int
) -> Job[pb.EntitiesRequest, list[list[Entity] | NotScored | None]]:
    batch = Batch.of(texts)
    model = _string_option("model", model)
    trunc = truncation_enum(truncation)

    def build(chunk: list[str]) -> pb.EntitiesRequest:
        return pb.EntitiesRequest(texts=chunk, model=model, truncation=trunc)

    def finish(responses: list[pb.EntitiesResponse]) -> list[list[Entity] | NotScored | None]:
        return batch.scatter([entities_result(r) for resp in responses for r in resp.results])

    return Job("Entities", (_with_texts(build, c) for c in batch.chunks(batch_size)), finish)


def language_job(
    texts: Iterable[str | None], batch_size: int
) -> Job[pb.LanguageRequest, list[LanguageResult | None]]:
    batch = Batch.of(texts)

    def build(chunk: list[str]) -> pb.LanguageRequest:
        return pb.LanguageRequest(texts=chunk)

    def finish(responses: list[pb.LanguageResponse]) -> list[LanguageResult | None]:
        return batch.scatter([language_result(r) for resp in responses for r in resp.results])

    return Job("Language", (_with_texts(build, c) for c in batch.chunks(batch_size)), finish)


def classify_job(
    texts: Iterable[str | None],
    labels: Sequence[str] | None,
    model: str,
    hypothesis_template: str,
    truncation: str,
    batch_size: int,
) -> Job[pb.ClassifyRequest, list[ClassifyResult | None]]:
    batch = Batch.of(texts)
    candidates = _labels(labels)
    model = _string_option("model", model)
    template = _string_option("hypothesis_template", hypothesis_template)
    trunc = truncation_enum(truncation)

    def build(chunk: list[str]) -> pb.ClassifyRequest:
        return pb.ClassifyRequest(
            texts=chunk,
            labels=candidates,
            model=model,
            hypothesis_template=template,
            truncation=trunc,
        )

    def finish(responses: list[pb.ClassifyResponse]) -> list[ClassifyResult | None]:
        return batch.scatter([classify_result(r) for resp in responses for r in resp.results])

    # Every answer carries a score per label: as many texts as their answer fits one message.
    per_call = min(batch_size, max(1, texts_per_answer(candidates, MAX_MESSAGE_BYTES)))
    return Job("Classify", (_with_texts(build, c) for c in batch.chunks(per_call)), finish)


def _embed_requests(
    batch: Batch, model: str, truncation: str, dtype: str, normalize: bool, batch_size: int
) -> Iterator[pb.EmbedRequest]:
    model = _string_option("model", model)
    trunc = truncation_enum(truncation)
    wire = dtype_enum(dtype)
    skip = not normalize

    def build(chunk: list[str]) -> pb.EmbedRequest:
        return pb.EmbedRequest(
            texts=chunk, model=model, truncation=trunc, dtype=wire, skip_normalize=skip
        )

    return (_with_texts(build, c) for c in batch.chunks(batch_size))


def embed_job(
    texts: Iterable[str | None],
    model: str,
    truncation: str,
    dtype: str,
    normalize: bool,
    batch_size: int,
) -> Job[pb.EmbedRequest, list[Vector | None]]:
    """Vectors as writable float32 rows of one matrix (float16 is a wire format only)."""
    batch = Batch.of(texts)
    requests = _embed_requests(batch, model, truncation, dtype, normalize, batch_size)
    sizes = batch.chunk_sizes(batch_size)

    def finish(responses: list[pb.EmbedResponse]) -> list[Vector | None]:
        matrices = _unpack_all(responses, sizes)
        if not matrices:
            return batch.scatter([])
        # One copy, which also upcasts float16 and makes the rows writable.
        matrix: npt.NDArray[np.float32] = (
            matrices[0].astype(np.float32)
            if len(matrices) == 1
            else np.concatenate(matrices, dtype=np.float32)
        )
        return batch.scatter(list(matrix))

    return Job("Embed", requests, finish)


def embed_array_job(
    texts: Iterable[str | None],
    model: str,
    truncation: str,
    dtype: str,
    normalize: bool,
    batch_size: int,
) -> Job[pb.EmbedRequest, Matrix]:
    """The vectors of the non-NULL texts as one (n, dim) matrix in the wire dtype.

    A single RPC's answer is a read-only view of the received bytes (no copy);
    several RPCs are concatenated into one new array.
    """
    batch = Batch.of(texts)
    requests = _embed_requests(batch, model, truncation, dtype, normalize, batch_size)
    sizes = batch.chunk_sizes(batch_size)
    empty_dtype = WIRE_DTYPE[dtype_enum(dtype)]

    def finish(responses: list[pb.EmbedResponse]) -> Matrix:
        matrices = _unpack_all(responses, sizes)
        if not matrices:
            return np.empty((0, 0), dtype=empty_dtype)
        return matrices[0] if len(matrices) == 1 else np.concatenate(matrices)

    return Job("Embed", requests, finish)


#: Where `reload_models` finds the operator token when none is passed.
ADMIN_TOKEN_ENV = "TEXTLENS_ADMIN_TOKEN"


def admin_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata of an admin RPC: `authorization: Bearer <token>` (default: the env var)."""
    token = token if token is not None else os.environ.get(ADMIN_TOKEN_ENV, "")
    return (("authorization", f"Bearer {token}"),)


def reload_models_job(
    names: Sequence[str],
) -> Job[pb.ReloadModelsRequest, list[ModelReload]]:
    if isinstance(names, str):
        raise errors.InvalidInput(f"names must be a list of model names, not the string {names!r}")

    def finish(responses: list[pb.ReloadModelsResponse]) -> list[ModelReload]:
        return [
            ModelReload(m.name, m.previous_version, m.version, m.source)
            for resp in responses
            for m in resp.models
        ]

    return Job("ReloadModels", [pb.ReloadModelsRequest(names=list(names))], finish)


def list_models_job() -> Job[pb.ListModelsRequest, list[ModelInfo]]:
    def finish(responses: list[pb.ListModelsResponse]) -> list[ModelInfo]:
        return [model_info(m) for resp in responses for m in resp.models]

    return Job("ListModels", [pb.ListModelsRequest()], finish)
