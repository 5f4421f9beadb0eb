"""Channel creation shared by the sync and asyncio clients.

One place decides the target (`targets.py`: argument, then TEXTLENS_TARGET, then the
default; several servers are balanced round-robin),
the message size limits and TLS, so both clients reach the same server the same way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import grpc
import grpc.aio

from textlens.client.limits import MAX_MESSAGE_BYTES
from textlens.client.targets import balancing_options, resolve_target
from textlens.client.tls import ChannelOption, TLSArg, channel_security
from textlens.v1 import textlens_pb2_grpc as pb_grpc

__all__ = ["resolve_target"]  # re-exported: it lives in targets.py

#: Where the read token comes from when a client is given none.
TOKEN_ENV = "TEXTLENS_TOKEN"
AUTHORIZATION = "authorization"


def channel_options(extra: Sequence[ChannelOption] = ()) -> list[ChannelOption]:
    """The 64 MiB message limits, then `extra`; an `extra` option replaces a default of the same name.

    Deduplicated because gRPC's handling of a repeated option name is unspecified.
    """
    merged: dict[str, Any] = {
        "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
        "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    }
    for name, value in extra:
        merged[name] = value
    return list(merged.items())


def resolve_token(token: str | None = None) -> str:
    """The read token: `token`, else $TEXTLENS_TOKEN, else none."""
    return (token if token is not None else os.environ.get(TOKEN_ENV, "")).strip()


def _with_token(details: Any, token: str) -> Any:
    """`details` with `authorization: Bearer <token>`, unless the call set its own (admin)."""
    metadata = list(details.metadata or ())
    if not any(key == AUTHORIZATION for key, _ in metadata):
        metadata.append((AUTHORIZATION, f"Bearer {token}"))
    return details._replace(metadata=metadata)


class _TokenInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Sends the token on every call (plaintext channels carry no call credentials)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(_with_token(details, self.token), request)


class _AioTokenInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, token: str) -> None:
        self.token = token

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_with_token(details, self.token), request)


def create_channel(
    target: str,
    *,
    credentials: grpc.ChannelCredentials | None = None,
    options: Sequence[ChannelOption] = (),
    token: str = "",
    tls: TLSArg = None,
) -> grpc.Channel:
    """A blocking channel: TLS from `tls` (see `textlens.client.tls`) or `credentials`,
    plaintext when neither (nor the TEXTLENS_TLS_* environment) asks for it.

    With `token`, every call carries `authorization: Bearer <token>`.
    """
    credentials, tls_options = channel_security(tls, credentials)
    opts = channel_options([*balancing_options(target), *tls_options, *options])
    if credentials is not None:
        channel = grpc.secure_channel(target, credentials, options=opts)
    else:
        channel = grpc.insecure_channel(target, options=opts)
    return grpc.intercept_channel(channel, _TokenInterceptor(token)) if token else channel


def create_aio_channel(
    target: str,
    *,
    credentials: grpc.ChannelCredentials | None = None,
    options: Sequence[ChannelOption] = (),
    token: str = "",
    tls: TLSArg = None,
) -> grpc.aio.Channel:
    """An asyncio channel, same rules as `create_channel`. Call it inside the running loop."""
    credentials, tls_options = channel_security(tls, credentials)
    opts = channel_options([*balancing_options(target), *tls_options, *options])
    interceptors = [_AioTokenInterceptor(token)] if token else None
    if credentials is not None:
        return grpc.aio.secure_channel(target, credentials, options=opts, interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=opts, interceptors=interceptors)


def text_analysis_stub(channel: grpc.Channel | grpc.aio.Channel) -> Any:
    """The generated TextAnalysis stub (untyped codegen, hence Any) on either kind of channel."""
    return pb_grpc.TextAnalysisStub(channel)
