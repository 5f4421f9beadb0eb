"""Answers in: protobuf results to the client's plain result types, vectors from bytes.

The other half of `wire.py` (requests out): kept apart so each stays small.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from textlens.contract import errors
from textlens.contract.results import (
    ClassifyResult,
    Entity,
    LanguageResult,
    ModelInfo,
    NotScored,
    SentimentResult,
)
from textlens.v1 import textlens_pb2 as pb

Matrix = npt.NDArray[Any]

WIRE_DTYPE: dict[int, np.dtype[Any]] = {
    pb.VECTOR_DTYPE_FLOAT32: np.dtype("<f4"),
    pb.VECTOR_DTYPE_FLOAT16: np.dtype("<f2"),
}


def not_scored(
    result: pb.SentimentResult | pb.AspectSentimentResult | pb.EntitiesResult,
) -> NotScored | None:
    """The result's NotScored, or None when the model answered it."""
    if not result.HasField("not_scored"):
        return None
    why = result.not_scored
    return NotScored(reason=why.reason, language=why.language, confidence=why.confidence)


def sentiment_result(
    result: pb.SentimentResult | pb.AspectSentimentResult,
) -> SentimentResult | NotScored:
    refused = not_scored(result)
    if refused is not None:
        return refused
    return SentimentResult(
        label=result.label, score=result.score, probabilities=dict(result.probabilities)
    )


def language_result(result: pb.LanguageResult) -> LanguageResult:
    return LanguageResult(
        language=result.language, confidence=result.confidence, reliable=result.reliable
    )


def entities_result(result: pb.EntitiesResult) -> list[Entity] | NotScored:
    refused = not_scored(result)
    if refused is not None:
        return refused
    return [
        Entity(text=e.text, label=e.label, start=e.start, end=e.end, score=e.score)
        for e in result.entities
    ]


def classify_result(result: pb.ClassifyResult) -> ClassifyResult:
    return ClassifyResult(label=result.label, scores=dict(result.scores))


def model_info(info: pb.ModelInfo) -> ModelInfo:
    return ModelInfo(
        name=info.name,
        task=info.task,
        labels=list(info.labels),
        version=info.version,
        device=info.device,
        dtype=info.dtype,
        max_length=info.max_length,
        source=info.source,
        is_default=info.is_default,
        dim=info.dim,
        backend=info.backend,
        backend_reason=info.backend_reason,
        languages=list(info.languages),
        other_languages=info.other_languages,
    )


def unpack_vectors(response: pb.EmbedResponse, count: int) -> Matrix:
    """The (count, dim) matrix of an Embed answer: a read-only view of its bytes, no copy.

    The dtype is the one the server says it sent, which need not be the one asked for.
    """
    wire = WIRE_DTYPE.get(response.dtype)
    if wire is None:
        raise errors.TextlensError(
            f"the server sent vectors of unknown dtype {int(response.dtype)}; "
            "upgrade the textlens client"
        )
    dim = int(response.dim)
    expected = count * dim * wire.itemsize
    if dim < 0 or (count and dim == 0) or len(response.vectors) != expected:
        raise errors.TextlensError(
            f"the server sent {len(response.vectors)} bytes of vectors for {count} texts of "
            f"dim {dim} ({wire.name}), expected {expected}; "
            "the client and server versions may not match"
        )
    return np.frombuffer(response.vectors, dtype=wire).reshape(count, dim)


def _unpack_all(responses: list[pb.EmbedResponse], sizes: list[int]) -> list[Matrix]:
    if len(responses) != len(sizes):
        raise errors.TextlensError(f"expected {len(sizes)} Embed answers, got {len(responses)}")
    matrices = [unpack_vectors(r, n) for r, n in zip(responses, sizes, strict=True)]
    if len({m.shape[1] for m in matrices}) > 1:
        raise errors.TextlensError(
            "the embedding dim changed between batches of one call (was the model "
            "replaced meanwhile?); retry the call"
        )
    return matrices
