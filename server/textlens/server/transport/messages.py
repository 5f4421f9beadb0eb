"""Protobuf messages <-> runtime arguments and results. No logic beyond shape."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textlens.contract.results import (
    ClassifyResult,
    Entity,
    LanguageResult,
    ModelInfo,
    NotScored,
    SentimentResult,
)
from textlens.server.transport.redact import public_source, redact_paths
from textlens.v1 import textlens_pb2 as pb

TRUNCATION_NAMES = {pb.TRUNCATION_TRUNCATE: "truncate", pb.TRUNCATION_ERROR: "error"}
#: The vector encodings `Embed` answers in (unknown enum values are INVALID_ARGUMENT).
VECTOR_DTYPES = frozenset({pb.VECTOR_DTYPE_FLOAT32, pb.VECTOR_DTYPE_FLOAT16})


def truncation_of(value: int) -> str:
    """The runtime's name of a wire truncation policy (unknown values fail validation)."""
    name: str = TRUNCATION_NAMES.get(value, f"unknown({value})")  # type: ignore[call-overload]
    return name


def not_scored(why: NotScored) -> pb.NotScored:
    return pb.NotScored(reason=why.reason, language=why.language, confidence=why.confidence)


def _sentiment(r: SentimentResult | NotScored) -> pb.SentimentResult:
    if isinstance(r, NotScored):
        return pb.SentimentResult(not_scored=not_scored(r))
    return pb.SentimentResult(label=r.label, score=r.score, probabilities=r.probabilities)


def sentiment_response(
    results: Sequence[SentimentResult | NotScored], model: str, version: str
) -> pb.SentimentResponse:
    return pb.SentimentResponse(
        results=[_sentiment(r) for r in results],
        model=model,
        model_version=version,
    )


def _aspect(r: SentimentResult | NotScored | None) -> pb.AspectSentimentResult:
    if r is None:
        return pb.AspectSentimentResult()
    if isinstance(r, NotScored):
        return pb.AspectSentimentResult(not_scored=not_scored(r))  # the pair was not examined
    return pb.AspectSentimentResult(
        mentioned=True, label=r.label, score=r.score, probabilities=r.probabilities
    )


def aspect_response(
    results: Sequence[SentimentResult | NotScored | None], model: str, version: str
) -> pb.AspectSentimentResponse:
    return pb.AspectSentimentResponse(
        results=[_aspect(r) for r in results],
        model=model,
        model_version=version,
    )


#: Bytes per code unit of the encodings an offset unit counts in (code points: none).
OFFSET_ENCODINGS: dict[int, tuple[str, int]] = {
    pb.OFFSET_UNIT_UTF16: ("utf-16-le", 2),
    pb.OFFSET_UNIT_UTF8_BYTE: ("utf-8", 1),
}


def _offsets(text: str, spans: Sequence[Entity], unit: int) -> list[tuple[int, int]]:
    """(start, end) of each span in `unit`s: code points as they are, else encoded lengths."""
    if unit == pb.OFFSET_UNIT_CODE_POINT or text.isascii() or not spans:
        return [(e.start, e.end) for e in spans]
    encoding, width = OFFSET_ENCODINGS[unit]

    def at(i: int) -> int:
        return len(text[:i].encode(encoding, errors="surrogatepass")) // width

    return [(at(e.start), at(e.end)) for e in spans]


def entities_response(
    results: Sequence[list[Entity] | NotScored],
    model: str,
    version: str,
    texts: Sequence[str] = (),
    unit: int = 0,
) -> pb.EntitiesResponse:
    """`unit` (an OffsetUnit) other than code points needs the request's `texts`."""
    out = []
    for i, spans in enumerate(results):
        if isinstance(spans, NotScored):
            out.append(pb.EntitiesResult(not_scored=not_scored(spans)))
            continue
        where = _offsets(texts[i], spans, unit) if unit else [(e.start, e.end) for e in spans]
        out.append(
            pb.EntitiesResult(
                entities=[
                    pb.Entity(text=e.text, label=e.label, start=s, end=t, score=e.score)
                    for e, (s, t) in zip(spans, where, strict=True)
                ]
            )
        )
    return pb.EntitiesResponse(
        results=out,
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


def language_response(
    results: Sequence[LanguageResult], model: str, version: str
) -> pb.LanguageResponse:
    return pb.LanguageResponse(
        results=[
            pb.LanguageResult(language=r.language, confidence=r.confidence, reliable=r.reliable)
            for r in results
        ],
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
                backend_reason=redact_paths(i.backend_reason),  # a fallback's errors name files
                languages=i.languages,
                other_languages=i.other_languages,
            )
            for i in infos
        ]
    )
