"""gRPC failures -> textlens errors, so callers never see a grpc.RpcError.

The server names the exact error class in the `textlens-error` trailing
metadata; the status code is only the fallback (older servers, proxies, and
failures the client itself detects, like an unreachable server or a passed
deadline). Client-side messages name the target and say what to do.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from textlens.contract import errors
from textlens.contract.limits import MAX_MESSAGE_BYTES, TARGET_ENV
from textlens.contract.trailers import ERROR_TRAILER

#: Trailing metadata key whose value is the error class name, e.g. "UnknownModel".
ERROR_METADATA_KEY = ERROR_TRAILER

_CLASSES: dict[str, type[errors.TextlensError]] = {
    name: cls
    for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, errors.TextlensError)
}

_BY_CODE: dict[grpc.StatusCode, type[errors.TextlensError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidInput,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.Overloaded,
    grpc.StatusCode.UNAVAILABLE: errors.ServerUnavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.DeadlineExceeded,
}

# Why a connection failed, from gRPC's details (lower-cased needle, reason, hint).
_START_HINT = f"start it with `textlens serve` or check {TARGET_ENV}"
_TLS_HINT = "check the TLS credentials and that the server serves TLS"
_REASONS: tuple[tuple[str, str, str], ...] = (
    ("connection refused", "connection refused", _START_HINT),
    ("dns resolution failed", "DNS lookup failed", f"check the host name in {TARGET_ENV}"),
    ("errors resolving", "DNS lookup failed", f"check the host name in {TARGET_ENV}"),
    ("name resolution", "DNS lookup failed", f"check the host name in {TARGET_ENV}"),
    ("handshake", "TLS handshake failed", _TLS_HINT),
    ("ssl", "TLS handshake failed", _TLS_HINT),
    ("connection reset", "connection reset", _START_HINT),
    ("socket closed", "connection closed", _START_HINT),
    ("timed out", "connection timed out", f"check the network and {TARGET_ENV}"),
)


def error_class_from_metadata(metadata: object) -> type[errors.TextlensError] | None:
    """The class the server named in `textlens-error`, or None (absent or unknown name).

    `metadata` is gRPC trailing metadata: (key, value) pairs, sync or aio flavour.
    """
    if not isinstance(metadata, Iterable):
        return None
    for item in metadata:
        try:
            key, value = item
        except (TypeError, ValueError):
            continue
        if key == ERROR_METADATA_KEY:
            name = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            return _CLASSES.get(name)
    return None


def from_rpc_error(
    err: grpc.RpcError, *, target: str, method: str, timeout: float
) -> errors.TextlensError:
    """The textlens error for a failed call of `method` (an RPC name) to `target`."""
    code = rpc_code(err)
    details = _call_attr(err, "details")
    details = details if isinstance(details, str) else ""
    cls = error_class_from_metadata(_call_attr(err, "trailing_metadata"))
    if cls is not None:
        # The server's own message, which already says what to do.
        return cls(details or f"textlens server at {target} failed {method} ({cls.__name__})")
    return _from_code(code, details, target=target, method=method, timeout=timeout)


def rpc_code(err: grpc.RpcError) -> grpc.StatusCode:
    """The status code of a failed call; UNKNOWN when the error carries none."""
    code = _call_attr(err, "code")
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def deadline_error(*, target: str, method: str, timeout: float) -> errors.DeadlineExceeded:
    """The error of a call whose deadline passed (also raised before a retry that cannot fit)."""
    return errors.DeadlineExceeded(
        f"textlens {method} call to {target} did not finish within its {timeout:g}s deadline; "
        "raise the client's `timeout` or send fewer texts per call"
    )


def _from_code(
    code: grpc.StatusCode, details: str, *, target: str, method: str, timeout: float
) -> errors.TextlensError:
    lowered = details.lower()
    if code is grpc.StatusCode.UNAVAILABLE:
        reason, hint = details or "no details", _START_HINT
        for needle, known_reason, known_hint in _REASONS:
            if needle in lowered:
                reason, hint = known_reason, known_hint
                break
        return errors.ServerUnavailable(
            f"textlens server at {target} is unavailable ({reason}); {hint}"
        )
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return deadline_error(target=target, method=method, timeout=timeout)
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in lowered:
        # gRPC's own size check, not a full queue: retrying cannot help.
        return _too_large(method, details, lowered)
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return errors.TextlensError(
            f"textlens server at {target} refused {method} ({code.name}: {details}); "
            "check the client's credentials"
        )
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return errors.TextlensError(
            f"the server at {target} does not implement {method}; "
            f"check that {target} is a textlens server of a compatible version"
        )
    cls = _BY_CODE.get(code, errors.TextlensError)
    if cls is errors.TextlensError:
        return cls(f"textlens {method} call to {target} failed ({code.name}: {details})")
    return cls(details or f"textlens {method} call to {target} failed ({code.name})")


#: gRPC's size-check details -> which message was too large. The server sending or the
#: client receiving: the answer; the client sending or the server receiving: the request.
_ANSWER_SIDE = ("server: sent", "client: received")
_REQUEST_SIDE = ("client: sent", "server: received")
MAX_MIB = MAX_MESSAGE_BYTES // (1024 * 1024)


def _too_large(method: str, details: str, lowered: str) -> errors.TextlensError:
    """The error for gRPC's "message larger than max", blaming the message that was."""
    if any(side in lowered for side in _ANSWER_SIDE):
        return errors.AnswerTooLarge(
            f"the answer to this {method} call is larger than the gRPC message limit "
            f"({details}): the request was accepted, but its answer cannot be sent; send fewer "
            "texts per call (the client's batch_size), or for Classify fewer or shorter labels"
        )
    side = "request" if any(side in lowered for side in _REQUEST_SIDE) else "request or answer"
    return errors.InvalidInput(
        f"the {method} {side} is larger than the gRPC message limit of {MAX_MIB} MiB or the "
        f"server's ({details}); send fewer or shorter texts per call (the client's batch_size)"
    )


def _call_attr(err: grpc.RpcError, name: str) -> object:
    """`err.name()`, or None: a bare RpcError has none of code/details/trailing_metadata."""
    getter = getattr(err, name, None)
    if not callable(getter):
        return None
    try:
        return getter()
    except Exception:  # a broken error object must not hide the original failure
        return None
