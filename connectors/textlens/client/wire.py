"""Requests out, results back: the I/O-free half of the client.

The sync and asyncio clients only move messages; every rule about what is sent
and what comes back lives here, once, where it is testable without a server:
each call becomes a `Job` (its requests, one per chunk, and how the answers
become results). Inputs are checked in `inputs` (NULLs, surrogates, options)
and answers read in `replies` (vectors from their little-endian bytes).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from textlens.client.inputs import (
    Batch,
    clean_text,
    dtype_enum,
    label_list,
    string_option,
    truncation_enum,
    with_texts,
)
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
from textlens.contract import errors
from textlens.contract.answer_size import texts_per_answer
from textlens.contract.limits import MAX_MESSAGE_BYTES
from textlens.contract.results import (
    ClassifyResult,
    Entity,
    LanguageResult,
    ModelInfo,
    ModelReload,
    NotScored,
    SentimentResult,
)
from textlens.v1 import textlens_pb2 as pb

# Re-exported: results are built in replies.py, inputs are checked in inputs.py.
__all__ = ["Batch", "Matrix", "clean_text", "dtype_enum", "truncation_enum", "unpack_vectors"]

Req = TypeVar("Req")
Out = TypeVar("Out")

VectorDtype = Literal["float32", "float16"]
Vector = npt.NDArray[np.float32]


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
    model = string_option("model", model)
    trunc = truncation_enum(truncation)

    def build(chunk: list[str]) -> pb.SentimentRequest:
        return pb.SentimentRequest(texts=chunk, model=model, truncation=trunc)

    def finish(responses: list[pb.SentimentResponse]) -> list[SentimentResult | NotScored | None]:
        return batch.scatter([sentiment_result(r) for resp in responses for r in resp.results])

    return Job("Sentiment", (with_texts(build, c) for c in batch.chunks(batch_size)), finish)


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
            string_option(f"targets[{i}]", goal)
    positions = batch.positions if batch.positions is not None else range(batch.size)
    kept = [k for k, p in enumerate(positions) if goals[p] is not None]
    pairs = Batch(size=len(batch.texts), texts=[batch.texts[k] for k in kept], positions=kept)
    pair_targets = [goals[positions[k]] or "" for k in kept]
    model = string_option("model", model)
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
        with_texts(functools.partial(build, start), chunk)
        for start, chunk in zip(starts, pairs.chunks(batch_size), strict=True)
    )
    return Job("AspectSentiment", requests, finish)


def entities_job(
    texts: Iterable[str | None], model: str, truncation: str, batch_size: int
) -> Job[pb.EntitiesRequest, list[list[Entity] | NotScored | None]]:
    batch = Batch.of(texts)
    model = string_option("model", model)
    trunc = truncation_enum(truncation)

    def build(chunk: list[str]) -> pb.EntitiesRequest:
        return pb.EntitiesRequest(texts=chunk, model=model, truncation=trunc)

    def finish(responses: list[pb.EntitiesResponse]) -> list[list[Entity] | NotScored | None]:
        return batch.scatter([entities_result(r) for resp in responses for r in resp.results])

    return Job("Entities", (with_texts(build, c) for c in batch.chunks(batch_size)), finish)


def language_job(
    texts: Iterable[str | None], batch_size: int
) -> Job[pb.LanguageRequest, list[LanguageResult | None]]:
    batch = Batch.of(texts)

    def build(chunk: list[str]) -> pb.LanguageRequest:
        return pb.LanguageRequest(texts=chunk)

    def finish(responses: list[pb.LanguageResponse]) -> list[LanguageResult | None]:
        return batch.scatter([language_result(r) for resp in responses for r in resp.results])

    return Job("Language", (with_texts(build, c) for c in batch.chunks(batch_size)), finish)


def classify_job(
    texts: Iterable[str | None],
    labels: Sequence[str] | None,
    model: str,
    hypothesis_template: str,
    truncation: str,
    batch_size: int,
) -> Job[pb.ClassifyRequest, list[ClassifyResult | None]]:
    batch = Batch.of(texts)
    candidates = label_list(labels)
    model = string_option("model", model)
    template = string_option("hypothesis_template", hypothesis_template)
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
    return Job("Classify", (with_texts(build, c) for c in batch.chunks(per_call)), finish)


def _embed_requests(
    batch: Batch, model: str, truncation: str, dtype: str, normalize: bool, batch_size: int
) -> Iterator[pb.EmbedRequest]:
    model = string_option("model", model)
    trunc = truncation_enum(truncation)
    wire = dtype_enum(dtype)
    skip = not normalize

    def build(chunk: list[str]) -> pb.EmbedRequest:
        return pb.EmbedRequest(
            texts=chunk, model=model, truncation=trunc, dtype=wire, skip_normalize=skip
        )

    return (with_texts(build, c) for c in batch.chunks(batch_size))


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
