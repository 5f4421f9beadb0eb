"""The TextAnalysis servicer: a thin layer from gRPC to the Analyzer.

Errors are handled in one place (`_guarded`): a textlens error becomes its
status code from `status.ERROR_STATUS` plus a `textlens-error` trailer naming
the class, so the client can re-raise the same exception; anything else is
logged and answered INTERNAL. Requests are parsed with a tolerant
deserializer so a message with invalid UTF-8 gets INVALID_ARGUMENT instead of
gRPC's generic deserialization failure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import DecodeError, Message

from textlens.client.errors import InvalidInput, PermissionDenied, TextlensError
from textlens.server.runtime.analyzer import Analyzer, Submitted
from textlens.server.runtime.reload import Reloader
from textlens.server.transport import convert
from textlens.server.transport.access_log import AccessLog
from textlens.server.transport.auth import ANONYMOUS, TokenTable
from textlens.server.transport.redact import public_source, redact_paths
from textlens.server.transport.status import status_for
from textlens.v1 import textlens_pb2 as pb

if TYPE_CHECKING:
    from textlens.server.transport.metrics import ServerMetrics

log = logging.getLogger(__name__)

SERVICE = pb.DESCRIPTOR.services_by_name["TextAnalysis"]
SERVICE_NAME: str = SERVICE.full_name
ERROR_TRAILER = "textlens-error"


class BadRequest:
    """What the tolerant deserializer returns for bytes that do not parse."""

    def __init__(self, message_type: str, error: str) -> None:
        self.message_type = message_type
        self.error = error


def tolerant_parser(cls: type[Message]) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return cls.FromString(data)
        except (DecodeError, UnicodeDecodeError, ValueError) as exc:
            return BadRequest(cls.DESCRIPTOR.name, str(exc) or type(exc).__name__)

    return parse


def _deadline(context: grpc.aio.ServicerContext[Any, Any]) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


async def _wait(submitted: Submitted) -> Any:
    return await asyncio.wrap_future(submitted.future)


#: RPCs open to every caller whatever the tokens (ReloadModels checks the admin token).
UNGUARDED = frozenset({"ReloadModels"})


class TextAnalysisService:
    """One coroutine per RPC; each converts, calls the analyzer, converts back."""

    def __init__(
        self,
        analyzer: Analyzer,
        reloader: Reloader | None = None,
        tokens: TokenTable | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.reloader = reloader
        self.tokens = tokens or TokenTable()

    async def Sentiment(self, request: pb.SentimentRequest, context: Any) -> pb.SentimentResponse:
        sub = self.analyzer.sentiment(
            request.texts,
            request.model,
            convert.truncation_of(request.truncation),
            _deadline(context),
        )
        return convert.sentiment_response(await _wait(sub), sub.model.name, sub.model.version)

    async def AspectSentiment(
        self, request: pb.AspectSentimentRequest, context: Any
    ) -> pb.AspectSentimentResponse:
        sub = self.analyzer.aspect_sentiment(
            request.texts,
            request.targets,
            request.model,
            convert.truncation_of(request.truncation),
            _deadline(context),
        )
        return convert.aspect_response(await _wait(sub), sub.model.name, sub.model.version)

    async def Entities(self, request: pb.EntitiesRequest, context: Any) -> pb.EntitiesResponse:
        if request.offsets not in (pb.OFFSET_UNIT_CODE_POINT, *convert.OFFSET_ENCODINGS):
            raise InvalidInput(
                f"unknown offset unit {int(request.offsets)}; use OFFSET_UNIT_CODE_POINT (0), "
                "OFFSET_UNIT_UTF16 (1) or OFFSET_UNIT_UTF8_BYTE (2)"
            )
        sub = self.analyzer.entities(
            request.texts,
            request.model,
            convert.truncation_of(request.truncation),
            _deadline(context),
        )
        return convert.entities_response(
            await _wait(sub), sub.model.name, sub.model.version, request.texts, request.offsets
        )

    async def Embed(self, request: pb.EmbedRequest, context: Any) -> pb.EmbedResponse:
        normalize = not request.skip_normalize
        if request.dtype not in convert.VECTOR_DTYPES:
            raise InvalidInput(
                f"unknown vector dtype {int(request.dtype)}; use VECTOR_DTYPE_FLOAT32 (0) or "
                "VECTOR_DTYPE_FLOAT16 (1)"
            )
        sub = self.analyzer.embed(
            request.texts,
            request.model,
            convert.truncation_of(request.truncation),
            _deadline(context),
            normalize=normalize,
        )
        vectors = await _wait(sub)
        return convert.embed_response(
            vectors,
            self.analyzer.dim(sub.model),
            request.dtype,
            normalize,
            sub.model.name,
            sub.model.version,
        )

    async def Classify(self, request: pb.ClassifyRequest, context: Any) -> pb.ClassifyResponse:
        sub = self.analyzer.classify(
            request.texts,
            list(request.labels),
            request.model,
            request.hypothesis_template,
            convert.truncation_of(request.truncation),
            _deadline(context),
        )
        return convert.classify_response(await _wait(sub), sub.model.name, sub.model.version)

    async def ListModels(
        self, request: pb.ListModelsRequest, context: Any
    ) -> pb.ListModelsResponse:
        return convert.models_response(self.analyzer.list_models())

    async def ReloadModels(
        self, request: pb.ReloadModelsRequest, context: Any
    ) -> pb.ReloadModelsResponse:
        self.tokens.check_operator(context.invocation_metadata() or (), "ReloadModels")
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


Handler = Callable[[Any, Any], Awaitable[Message]]


def _guarded(
    name: str,
    handler: Handler,
    service: TextAnalysisService,
    metrics: ServerMetrics | None = None,
    access: AccessLog | None = None,
) -> Handler:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        started = time.perf_counter()
        outcome = "OK"
        identity = ANONYMOUS
        response: Message | None = None
        try:
            metadata = context.invocation_metadata() or ()
            if name in UNGUARDED:  # the RPC checks its own role; the log still names the caller
                who = service.tokens.identity_of(metadata)
            else:
                who = service.tokens.check_reader(metadata, name)
            identity = who.name if who is not None else ANONYMOUS
            if isinstance(request, BadRequest):
                raise InvalidInput(
                    f"the {request.message_type} could not be parsed ({request.error}); "
                    "strings must be valid UTF-8"
                )
            response = await handler(request, context)
            return response
        except TextlensError as exc:
            code = status_for(exc)
            outcome = code.name
            message = redact_paths(str(exc))
            if message != str(exc):
                log.info("%s: %s", name, exc)  # the full paths stay in the server log
            await context.abort(
                code, message, trailing_metadata=((ERROR_TRAILER, type(exc).__name__),)
            )
        except asyncio.CancelledError:
            outcome = "CANCELLED"
            raise
        except Exception as exc:
            outcome = "INTERNAL"
            log.exception("%s failed", name)
            await context.abort(
                grpc.StatusCode.INTERNAL,
                f"{name} failed inside the server: {type(exc).__name__}: "
                f"{redact_paths(str(exc))}. "
                "This is a textlens bug; the server log has the traceback",
            )
        finally:
            seconds = time.perf_counter() - started
            if metrics is not None:
                metrics.observe(name, request, outcome, seconds)
            if access is not None:
                access.record(name, request, response, outcome, seconds, context, identity)
        raise AssertionError("unreachable")  # pragma: no cover - abort raises

    return call


def generic_handler(
    service: TextAnalysisService,
    metrics: ServerMetrics | None = None,
    access: AccessLog | None = None,
) -> grpc.GenericRpcHandler:
    """The method table of TextAnalysis, with tolerant request parsing and one error path."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in SERVICE.methods:
        request_cls = getattr(pb, method.input_type.name)
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            _guarded(method.name, getattr(service, method.name), service, metrics, access),
            request_deserializer=tolerant_parser(request_cls),
            response_serializer=lambda message: message.SerializeToString(),
        )
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
