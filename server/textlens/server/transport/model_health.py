"""grpc.health.v1 with one service per model: `textlens.v1.TextAnalysis/NAME`.

The server ("" and `textlens.v1.TextAnalysis`) stays SERVING when a registered
model could not be loaded at start (the other models serve); a probe that
cares about one model asks for it by name and hears SERVING while the registry
serves it, NOT_SERVING while it is registered but no version of it loaded (or
the server is draining), and NOT_FOUND for a name the server does not know.
Read from the registry at each Check, so it is current after every reload.
"""

from __future__ import annotations

from typing import Any

import grpc
from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio as health_aio

from textlens.server.runtime.registry import ModelRegistry

#: The per-model service names are this, a slash, and the model's name.
MODEL_SERVICE_PREFIX = "textlens.v1.TextAnalysis/"

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class ModelHealthServicer(health_aio.HealthServicer):  # type: ignore[misc]  # untyped
    """The standard health servicer, plus a live status per model name."""

    def __init__(self, registry: ModelRegistry) -> None:
        super().__init__()
        self.registry = registry

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthCheckResponse:
        if not request.service.startswith(MODEL_SERVICE_PREFIX):
            return await super().Check(request, context)
        name = request.service[len(MODEL_SERVICE_PREFIX) :]
        server = await super().Check(health_pb2.HealthCheckRequest(service=""), context)
        if name in self.registry.models:
            return health_pb2.HealthCheckResponse(
                status=SERVING if server.status == SERVING else NOT_SERVING
            )
        if name in self.registry.unserved:
            return health_pb2.HealthCheckResponse(status=NOT_SERVING)
        await context.abort(grpc.StatusCode.NOT_FOUND, f"no model named {name[:64]!r}")
        raise AssertionError("unreachable")  # pragma: no cover - abort raises
