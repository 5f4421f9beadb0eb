"""Channel creation shared by the sync and asyncio clients.

One place decides the target (`targets.py`: argument, then TEXTLENS_TARGET, then the
default; several servers are balanced round-robin),
the message size limits and TLS, so both clients reach the same server the same way.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import warnings
from collections.abc import Sequence
from typing import Any

import grpc
import grpc.aio

from textlens.client.targets import balancing_options, resolve_target
from textlens.client.tls import ChannelOption, TLSArg, channel_security
from textlens.contract.limits import MAX_MESSAGE_BYTES
from textlens.v1 import textlens_pb2_grpc as pb_grpc

__all__ = ["PlaintextTokenWarning", "resolve_target"]  # resolve_target lives in targets.py

log = logging.getLogger("textlens.client")

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


class PlaintextTokenWarning(UserWarning):
    """A token is about to travel unencrypted to a host that is not this machine."""


_LOCAL_SCHEMES = ("unix:", "unix-abstract:", "vsock:")


def _hosts(target: str) -> list[str]:
    """The hosts a gRPC target names (several for an address list; none for a socket)."""
    if target.startswith(_LOCAL_SCHEMES):
        return []
    rest = target
    for scheme in ("dns:", "ipv4:", "ipv6:"):
        if rest.startswith(scheme):
            rest = rest[len(scheme) :]
            if rest.startswith("//"):  # dns://authority/name:port
                rest = rest[2:].partition("/")[2]
            rest = rest.lstrip("/")
            break
    hosts = []
    for item in rest.split(","):
        item = item.strip()
        if item.startswith("["):
            hosts.append(item[1:].partition("]")[0])
        else:
            hosts.append(item.rpartition(":")[0] if ":" in item else item)
    return hosts


def is_loopback_target(target: str) -> bool:
    """Whether every host of `target` is this machine (localhost, 127.0.0.0/8, ::1, a socket)."""
    for host in _hosts(target):
        if host.lower() == "localhost":
            continue
        try:
            if not ipaddress.ip_address(host).is_loopback:
                return False
        except ValueError:  # a name: it may resolve anywhere
            return False
    return True


_warned: set[str] = set()


def warn_plaintext_token(target: str) -> None:
    """Say (a Python warning, and the log once per target) that a token goes out in the
    clear to a host that is not this machine (issue 22, item 11). Nothing is sent here."""
    if is_loopback_target(target):
        return
    message = (
        f"textlens: a token will be sent to {target} over a plaintext channel: anyone on "
        "the network path can read it and call the server as you. Use TLS (tls=..., "
        "TEXTLENS_TLS_CA, or ?tls_ca= in a URL), or a loopback target."
    )
    warnings.warn(message, PlaintextTokenWarning, stacklevel=4)
    if target not in _warned:
        _warned.add(target)
        log.warning(message)


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
    if token and credentials is None:
        warn_plaintext_token(target)
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
    if token and credentials is None:
        warn_plaintext_token(target)
    opts = channel_options([*balancing_options(target), *tls_options, *options])
    interceptors = [_AioTokenInterceptor(token)] if token else None
    if credentials is not None:
        return grpc.aio.secure_channel(target, credentials, options=opts, interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=opts, interceptors=interceptors)


def text_analysis_stub(channel: grpc.Channel | grpc.aio.Channel) -> Any:
    """The generated TextAnalysis stub (untyped codegen, hence Any) on either kind of channel."""
    return pb_grpc.TextAnalysisStub(channel)
