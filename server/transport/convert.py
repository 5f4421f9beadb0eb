"""Protobuf messages <-> runtime arguments and results. No logic beyond shape."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textlens.client.results import ClassifyResult, Entity, ModelInfo, SentimentResult
from textlens.server.transport.redact import public_source
from textlens.v1 import textlens_pb2 as pb

TRUNCATION_NAMES = {pb.TRUNCATION_TRUNCATE: "truncate", pb.TRUNCATION_ERROR: "error"}
#: The vector encodings `Embed` answers in (unknown enum values are INVALID_ARGUMENT).
VECTOR_DTYPES = frozenset({pb.VECTOR_DTYPE_FLOAT32, pb.VECTOR_DTYPE_FLOAT16})


def truncation_of(value: int) -> str:
    """The runtime's name of a wire truncation policy (unknown values fail validation)."""
    name: str = TRUNCATION_NAMES.get(value, f"unknown({value})")  # type: ignore[call-overload]
    return name


def sentiment_response(
    results: Sequence[SentimentResult], model: str, version: str
) -> pb.SentimentResponse:
    return pb.SentimentResponse(
        results=[
            pb.SentimentResult(label=r.label, score=r.score, probabilities=r.probabilities)
            for r in results
        ],
        model=model,
        model_version=version,
    )


def aspect_response(
    results: Sequence[SentimentResult | None], model: str, version: str
) -> pb.AspectSentimentResponse:
    return pb.AspectSentimentResponse(
        results=[
            pb.AspectSentimentResult()
            if r is None
            else pb.AspectSentimentResult(
                mentioned=True, label=r.label, score=r.score, probabilities=r.probabilities
            )
            for r in results
        ],
        model=model,
        model_version=version,
    )


def entities_response(
    results: Sequence[list[Entity]], model: str, version: str
) -> pb.EntitiesResponse:
    return pb.EntitiesResponse(
        results=[
            pb.EntitiesResult(
                entities=[
                    pb.Entity(text=e.text, label=e.label, start=e.start, end=e.end, score=e.score)
                    for e in spans
                ]
            )
            for spans in results
        ],
        model=model,
        model_version=version,
    )


def embed_response(
    vectors: np.ndarray, dim: int, dtype: int, normalized: bool, model: str, version: str
) -> pb.EmbedResponse:
    wire = "<f2" if dtype == pb.VECTOR_DTYPE_FLOAT16 else "<f4"
    return pb.EmbedResponse(
        dim=dim,
        dtype=dtype,  # type: ignore[arg-type]
        normalized=normalized,
        vectors=np.ascontiguousarray(vectors, dtype=wire).tobytes(),
        model=model,
        model_version=version,
    )


def classify_response(
    results: Sequence[ClassifyResult], model: str, version: str
) -> pb.ClassifyResponse:
    return pb.ClassifyResponse(
        results=[pb.ClassifyResult(label=r.label, scores=r.scores) for r in results],
        model=model,
        model_version=version,
    )


def models_response(infos: Sequence[ModelInfo]) -> pb.ListModelsResponse:
    return pb.ListModelsResponse(
        models=[
            pb.ModelInfo(
                name=i.name,
                task=i.task,
                labels=i.labels,
                version=i.version,
                device=i.device,
                dtype=i.dtype,
                max_length=i.max_length,
                source=public_source(i.source),
                is_default=i.is_default,
                dim=i.dim,
                backend=i.backend,
                backend_reason=i.backend_reason,
            )
            for i in infos
        ]
    )
