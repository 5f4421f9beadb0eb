"""The one table from textlens errors to gRPC status codes (and back, in the client)."""

from __future__ import annotations

import grpc

from textlens.contract import errors

#: Most specific class first: the first matching entry wins.
ERROR_STATUS: tuple[tuple[type[errors.TextlensError], grpc.StatusCode], ...] = (
    (errors.InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.Overloaded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.ShuttingDown, grpc.StatusCode.UNAVAILABLE),
    (errors.DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (errors.ModelLoadError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
)


def status_for(error: BaseException) -> grpc.StatusCode:
    """The status code of an error; anything unexpected is INTERNAL."""
    for cls, code in ERROR_STATUS:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.INTERNAL
