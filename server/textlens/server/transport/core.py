"""The transport-free core of textlens.v1.TextAnalysis: request message in, response out.

The standalone grpc.aio servicer (`service.py`) and any other front (a Ray
Serve deployment) call `TextAnalysisCore.handle` with the parsed request and a
`Call` (deadline, metadata), so every front gives byte-identical answers and
the same errors: a `TextlensError`, which the front turns into its status with
the one table in `status.py`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from textlens.contract.answer_size import classify_answer_bytes, texts_per_answer
from textlens.contract.errors import AnswerTooLarge, InvalidInput, PermissionDenied
from textlens.server.runtime.analyzer import Analyzer, Detected, Submitted
from textlens.server.runtime.reload import Reloader
from textlens.server.runtime.request_checks import MAX_LABEL_CHARS, MAX_LABELS
from textlens.server.transport import messages
from textlens.server.transport.auth import ANONYMOUS, TokenTable
from textlens.server.transport.redact import public_source
from textlens.v1 import textlens_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["TextAnalysis"]
SERVICE_NAME: str = SERVICE.full_name
METHODS = frozenset(method.name for method in SERVICE.methods)


@dataclass(frozen=True)
class Call:
    """What a handler needs of the transport: when the caller gives up, and its metadata."""

    deadline: float | None = None  # time.monotonic() seconds
    metadata: Sequence[tuple[str, Any]] = field(default_factory=tuple)

    @classmethod
    def of(cls, remaining: float | None, metadata: Any) -> Call:
        """From a transport's seconds remaining (None: no deadline) and call metadata."""
        deadline = None if remaining is None else time.monotonic() + remaining
        return cls(deadline, tuple(metadata or ()))


class BadRequest:
    """What the tolerant deserializer returns for bytes that do not parse."""

    def __init__(self, message_type: str, error: str) -> None:
        self.message_type = message_type
        self.error = error


async def _wait(submitted: Submitted | Detected) -> Any:
    """The job's result. A call that ends first (client cancelled or went away, deadline)
    cancels this coroutine; the job's future is cancelled with it, and the batcher drops
    the job's remaining forward passes (`batcher.JobFuture`)."""
    try:
        return await asyncio.wrap_future(submitted.future)
    except asyncio.CancelledError:
        submitted.future.cancel()  # wrap_future does too; explicit, as the job depends on it
        raise


#: RPCs open to every caller whatever the tokens (ReloadModels checks the admin token).
UNGUARDED = frozenset({"ReloadModels"})


def refuse_impossible_classify(request: pb.ClassifyRequest, limit: int) -> None:
    """Refuse a zero-shot Classify whose answer cannot fit `limit` bytes, before computing it.

    Every result carries a score per label: 2,048 texts x 256 labels of 200
    characters answer 113 MB, which gRPC refuses to send after the whole
    computation. Labels the analyzer will refuse anyway are left to it.
    """
    labels = list(request.labels)
    if not labels or len(labels) > MAX_LABELS or max(map(len, labels)) > MAX_LABEL_CHARS:
        return
    size = classify_answer_bytes(len(request.texts), labels)
    if size <= limit:
        return
    fit = texts_per_answer(labels, limit)
    advice = (
        f"send at most {fit} texts per call with these labels"
        if fit
        else "even one text's answer does not fit: use fewer or shorter labels"
    )
    raise AnswerTooLarge(
        f"the answer to {len(request.texts)} texts x {len(labels)} labels would be about "
        f"{size:,} bytes (a score per label per text), more than this server's message limit "
        f"of {limit:,} bytes (max_message_bytes); {advice}. The textlens client and the "
        "DuckDB functions split by answer size themselves"
    )


def refuse_oversized_answer(method: str, response: Message, limit: int) -> None:
    """An answer gRPC would refuse to send becomes an error the caller, log and metrics see.

    Without this the handler "succeeds" (the access log and metrics say OK)
    and the caller gets gRPC's bare "Sent message larger than max".
    """
    size = response.ByteSize()
    if size > limit:
        raise AnswerTooLarge(
            f"the {method} answer is {size:,} bytes, more than this server's message limit "
            f"of {limit:,} bytes (max_message_bytes); send fewer texts per call"
        )


class TextAnalysisCore:
    """One coroutine per RPC: request message and `Call` in, response message out."""

    def __init__(
        self,
        analyzer: Analyzer,
        reloader: Reloader | None = None,
        tokens: TokenTable | None = None,
        max_answer_bytes: int | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.reloader = reloader
        self.tokens = tokens or TokenTable()
        #: The transport's send limit (None: the front has none to enforce).
        self.max_answer_bytes = max_answer_bytes

    async def Sentiment(self, request: pb.SentimentRequest, call: Call) -> pb.SentimentResponse:
        sub = self.analyzer.sentiment(
            request.texts,
            request.model,
            messages.truncation_of(request.truncation),
            call.deadline,
        )
        return messages.sentiment_response(await _wait(sub), sub.model.name, sub.model.version)

    async def AspectSentiment(
        self, request: pb.AspectSentimentRequest, call: Call
    ) -> pb.AspectSentimentResponse:
        sub = self.analyzer.aspect_sentiment(
            request.texts,
            request.targets,
            request.model,
            messages.truncation_of(request.truncation),
            call.deadline,
        )
        return messages.aspect_response(await _wait(sub), sub.model.name, sub.model.version)

    async def Entities(self, request: pb.EntitiesRequest, call: Call) -> pb.EntitiesResponse:
        if request.offsets not in (pb.OFFSET_UNIT_CODE_POINT, *messages.OFFSET_ENCODINGS):
            raise InvalidInput(
                f"unknown offset unit {int(request.offsets)}; use OFFSET_UNIT_CODE_POINT (0), "
                "OFFSET_UNIT_UTF16 (1) or OFFSET_UNIT_UTF8_BYTE (2)"
            )
        sub = self.analyzer.entities(
            request.texts,
            request.model,
            messages.truncation_of(request.truncation),
            call.deadline,
        )
        return messages.entities_response(
            await _wait(sub), sub.model.name, sub.model.version, request.texts, request.offsets
        )

    async def Embed(self, request: pb.EmbedRequest, call: Call) -> pb.EmbedResponse:
        normalize = not request.skip_normalize
        if request.dtype not in messages.VECTOR_DTYPES:
            raise InvalidInput(
                f"unknown vector dtype {int(request.dtype)}; use VECTOR_DTYPE_FLOAT32 (0) or "
                "VECTOR_DTYPE_FLOAT16 (1)"
            )
        sub = self.analyzer.embed(
            request.texts,
            request.model,
            messages.truncation_of(request.truncation),
            call.deadline,
            normalize=normalize,
        )
        vectors = await _wait(sub)
        return messages.embed_response(
            vectors,
            self.analyzer.dim(sub.model),
            request.dtype,
            normalize,
            sub.model.name,
            sub.model.version,
        )

    async def Classify(self, request: pb.ClassifyRequest, call: Call) -> pb.ClassifyResponse:
        if self.max_answer_bytes is not None:
            refuse_impossible_classify(request, self.max_answer_bytes)
        sub = self.analyzer.classify(
            request.texts,
            list(request.labels),
            request.model,
            request.hypothesis_template,
            messages.truncation_of(request.truncation),
            call.deadline,
        )
        return messages.classify_response(await _wait(sub), sub.model.name, sub.model.version)

    async def Language(self, request: pb.LanguageRequest, call: Call) -> pb.LanguageResponse:
        found = self.analyzer.language(request.texts)
        return messages.language_response(await _wait(found), found.name, found.version)

    async def ListModels(self, request: pb.ListModelsRequest, call: Call) -> pb.ListModelsResponse:
        return messages.models_response(self.analyzer.list_models())

    async def ReloadModels(
        self, request: pb.ReloadModelsRequest, call: Call
    ) -> pb.ReloadModelsResponse:
        self.tokens.check_operator(call.metadata, "ReloadModels")
        if self.reloader is None:
            raise PermissionDenied("this server cannot reload models (no reloader configured)")
        outcomes = await asyncio.to_thread(self.reloader.reload, list(request.names))
        return pb.ReloadModelsResponse(
            models=[
                pb.ModelReload(
                    name=o.name,
                    previous_version=o.previous_version,
                    version=o.version,
                    source=public_source(o.source),
                )
                for o in outcomes
            ]
        )

    async def handle(self, method: str, request: Any, call: Call) -> tuple[Message, str]:
        """(the response of RPC `method`, the caller's identity); raises TextlensError.

        Auth first (a caller without a token learns nothing about its request),
        then a request that did not parse is INVALID_ARGUMENT, then the RPC.
        """
        if method in UNGUARDED:  # the RPC checks its own role; the log still names the caller
            who = self.tokens.identity_of(call.metadata)
        else:
            who = self.tokens.check_reader(call.metadata, method)
        identity = who.name if who is not None else ANONYMOUS
        if isinstance(request, BadRequest):
            raise InvalidInput(
                f"the {request.message_type} could not be parsed ({request.error}); "
                "strings must be valid UTF-8"
            )
        if method not in METHODS:
            raise InvalidInput(f"unknown RPC {method!r}")
        response: Message = await getattr(self, method)(request, call)
        if self.max_answer_bytes is not None:
            refuse_oversized_answer(method, response, self.max_answer_bytes)
        return response, identity
