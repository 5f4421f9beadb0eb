"""Tokens on the standard services: health and reflection answer readers only, unless opened.

The TextAnalysis servicer checks its own RPCs (one error path, with the
textlens error trailer); health and reflection are grpcio's own servicers, so
an interceptor refuses them in front, with the same messages and codes as the
data RPCs. Reflection lists the API, health says which models serve: on a
server with read tokens both are closed by default, and `open_health` exists
because load balancers and Kubernetes probes send no token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio

from textlens.contract.errors import TextlensError
from textlens.server.transport.answers import refusal
from textlens.server.transport.auth import TokenTable

Req = TypeVar("Req")
Resp = TypeVar("Resp")

HEALTH_PREFIX = "/grpc.health.v1.Health/"
REFLECTION_PREFIXES = (
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


def _refusal(handler: grpc.RpcMethodHandler[Any, Any], error: TextlensError) -> Any:
    """A handler of the same shape as `handler` that answers `error`'s status."""
    answer = refusal("health or reflection", error)
    code, message, trailers = answer.code, answer.message, answer.trailers

    async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(code, message, trailing_metadata=trailers)

    async def streaming(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(code, message, trailing_metadata=trailers)
        yield  # pragma: no cover - abort raises; the yield makes this a generator

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(unary, **kwargs)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(streaming, **kwargs)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(unary, **kwargs)
    return grpc.stream_stream_rpc_method_handler(streaming, **kwargs)


class StandardServicesGuard(grpc.aio.ServerInterceptor):
    """Asks health and reflection callers for a read token where the server has them."""

    def __init__(self, tokens: TokenTable, *, open_health: bool, open_reflection: bool) -> None:
        self.tokens = tokens
        closed: list[str] = []
        if not open_health:
            closed.append(HEALTH_PREFIX)
        if not open_reflection:
            closed.extend(REFLECTION_PREFIXES)
        self.closed = tuple(closed)

    async def intercept_service(  # type: ignore[override]  # typeshed: generic per method
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Req, Resp] | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if (
            handler is None
            or not self.tokens.reads_need_token
            or not method.startswith(self.closed)
        ):
            return handler
        try:
            self.tokens.check_reader(
                handler_call_details.invocation_metadata or (), method.rsplit("/", 1)[-1]
            )
        except TextlensError as exc:
            return _refusal(handler, exc)  # type: ignore[no-any-return]
        return handler
