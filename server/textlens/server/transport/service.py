"""The TextAnalysis servicer: a thin layer from grpc.aio to the transport-free core.

Errors are handled in one place (`_guarded`): a textlens error becomes its
status code from `status.ERROR_STATUS` plus a `textlens-error` trailer naming
the class, so the client can re-raise the same exception; anything else is
logged and answered INTERNAL. Requests are parsed with a tolerant
deserializer so a message with invalid UTF-8 gets INVALID_ARGUMENT instead of
gRPC's generic deserialization failure. What each RPC does is `core.py`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import DecodeError, Message

from textlens.contract.errors import TextlensError
from textlens.server.transport.access_log import AccessLog
from textlens.server.transport.answers import refusal
from textlens.server.transport.auth import ANONYMOUS
from textlens.server.transport.core import (
    SERVICE,
    SERVICE_NAME,
    BadRequest,
    Call,
    TextAnalysisCore,
)
from textlens.server.transport.untrusted import served_name, shown
from textlens.v1 import textlens_pb2 as pb

if TYPE_CHECKING:
    from textlens.server.transport.server_metrics import ServerMetrics

__all__ = ["SERVICE_NAME", "TextAnalysisService", "generic_handler"]

log = logging.getLogger(__name__)

#: An error message may quote the request; the log keeps this many characters of it.
LOGGED_ERROR_CHARS = 2000
#: The servicer's handler is the core (kept under its old name for callers).
TextAnalysisService = TextAnalysisCore


def tolerant_parser(cls: type[Message]) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return cls.FromString(data)
        except (DecodeError, UnicodeDecodeError, ValueError) as exc:
            return BadRequest(cls.DESCRIPTOR.name, str(exc) or type(exc).__name__)

    return parse


Handler = Callable[[Any, Any], Awaitable[Message]]


def grpc_call(context: grpc.aio.ServicerContext[Any, Any]) -> Call:
    """The core's view of a grpc.aio call: its deadline and metadata."""
    return Call.of(context.time_remaining(), context.invocation_metadata())


def _guarded(
    name: str,
    core: TextAnalysisCore,
    metrics: ServerMetrics | None = None,
    access: AccessLog | None = None,
) -> Handler:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        started = time.perf_counter()
        outcome = "OK"
        identity = ANONYMOUS
        response: Message | None = None
        try:
            response, identity = await core.handle(name, request, grpc_call(context))
            return response
        except asyncio.CancelledError:
            outcome = "CANCELLED"
            raise
        except Exception as exc:
            answer = refusal(name, exc)
            outcome = answer.outcome
            if isinstance(exc, TextlensError) and answer.message != str(exc):
                # The full paths stay in the server log, escaped and cut.
                log.info("%s: %s", name, shown(str(exc), LOGGED_ERROR_CHARS, token=False))
            await context.abort(answer.code, answer.message, trailing_metadata=answer.trailers)
        finally:
            seconds = time.perf_counter() - started
            # A served name or "unknown", never the request's string (untrusted.py).
            model = served_name(core.analyzer.registry, name, request, response, outcome)
            if metrics is not None:
                texts = len(getattr(request, "texts", ()) or ())
                metrics.observe(name, model, texts, outcome, seconds)
            if access is not None:
                if outcome != "OK":  # who called matters most for a refusal
                    who = core.tokens.identity_of(context.invocation_metadata() or ())
                    identity = who.name if who is not None else ANONYMOUS
                access.record(name, request, response, outcome, seconds, context, identity, model)
        raise AssertionError("unreachable")  # pragma: no cover - abort raises

    return call


def generic_handler(
    core: TextAnalysisCore,
    metrics: ServerMetrics | None = None,
    access: AccessLog | None = None,
) -> grpc.GenericRpcHandler:
    """The method table of TextAnalysis, with tolerant request parsing and one error path."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in SERVICE.methods:
        request_cls = getattr(pb, method.input_type.name)
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            _guarded(method.name, core, metrics, access),
            request_deserializer=tolerant_parser(request_cls),
            response_serializer=lambda message: message.SerializeToString(),
        )
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
