"""The standard grpc.health.v1 Check, shared by both clients.

grpcio-health-checking is not a base dependency (the client installs into
BI environments with few packages), so it is imported only when health() is
called, with an ImportError that says what to install.
"""

from __future__ import annotations

import functools
from types import ModuleType

import grpc

from textlens.contract import errors

#: Codes that mean "not healthy now" rather than "the check itself is wrong".
UNHEALTHY_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.NOT_FOUND,
    }
)


@functools.cache
def health_modules() -> tuple[ModuleType, ModuleType]:
    """(health_pb2, health_pb2_grpc) of grpcio-health-checking, imported on first use."""
    try:
        from grpc_health.v1 import health_pb2, health_pb2_grpc
    except ImportError as exc:
        raise ImportError(
            "textlens health() needs the grpcio-health-checking package: "
            "pip install grpcio-health-checking (or install textlens[models])"
        ) from exc
    return health_pb2, health_pb2_grpc


def check_request(service: str) -> object:
    if not isinstance(service, str):
        raise errors.InvalidInput(f"service must be a str, got {type(service).__name__}")
    health_pb2, _ = health_modules()
    request: object = health_pb2.HealthCheckRequest(service=service)
    return request


def is_serving(response: object) -> bool:
    health_pb2, _ = health_modules()
    return bool(getattr(response, "status", None) == health_pb2.HealthCheckResponse.SERVING)
