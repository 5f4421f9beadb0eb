"""Building, starting and stopping the gRPC server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from textlens.server.runtime.analyzer import Analyzer
from textlens.server.runtime.registry import ModelRegistry
from textlens.server.runtime.reload import Reloader, served_specs
from textlens.server.settings import ServerSettings
from textlens.server.transport.service import SERVICE_NAME, TextAnalysisService, generic_handler

if TYPE_CHECKING:
    from textlens.server.transport.metrics import ServerMetrics

log = logging.getLogger(__name__)

READY_LINE = "textlens: serving on {host}:{port}"


def channel_options(settings: ServerSettings) -> list[tuple[str, int]]:
    return [
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
    ]


def create_server(
    settings: ServerSettings,
    analyzer: Analyzer,
    reloader: Reloader | None = None,
    metrics: ServerMetrics | None = None,
) -> tuple[grpc.aio.Server, int, health_aio.HealthServicer]:
    """An unstarted grpc.aio server bound to settings.host:port (port 0: any free port)."""
    server = grpc.aio.server(
        options=channel_options(settings),
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs or None,
    )
    reloader = reloader or Reloader(analyzer.registry, settings)
    service = TextAnalysisService(analyzer, reloader, settings.admin_token, settings.read_tokens)
    server.add_generic_rpc_handlers((generic_handler(service, metrics),))
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    port = server.add_insecure_port(f"{settings.host}:{settings.port}")
    if port == 0:
        raise OSError(f"could not bind {settings.host}:{settings.port} (in use?)")
    return server, port, health


def warm_up(analyzer: Analyzer) -> None:
    """One real forward pass per model, so the health check means the device works."""
    for served in analyzer.registry.models.values():
        served.warm_up()


async def _watch_registry(reloader: Reloader, seconds: float) -> None:
    """Poll the registry and swap in new current versions (what ReloadModels does on demand)."""
    error = ""
    while True:
        await asyncio.sleep(seconds)
        error = await asyncio.to_thread(reloader.watch_once, error)


async def serve(
    settings: ServerSettings,
    registry: ModelRegistry | None = None,
    on_ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Load models, serve until SIGTERM/SIGINT (or `stop`), then shut down gracefully."""
    started = time.monotonic()
    if registry is None:
        registry = await asyncio.to_thread(ModelRegistry.load, served_specs(settings), settings)
    analyzer = Analyzer(
        registry,
        max_texts_per_request=settings.max_texts_per_request,
        max_text_chars=settings.max_text_chars,
    )
    await asyncio.to_thread(warm_up, analyzer)
    reloader = Reloader(registry, settings)
    metrics = None
    if settings.metrics_port is not None:
        from textlens.server.transport.metrics import ServerMetrics

        metrics = ServerMetrics(registry)
        metrics.start(settings.metrics_host, settings.metrics_port)
    server, port, health = create_server(settings, analyzer, reloader, metrics)
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    await health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    summary = ", ".join(
        f"{m.name}[{m.spec.task}{'*' if m.is_default else ''} {i.device} {i.backend}/{i.dtype} "
        f"loaded in {m.load_seconds:.1f}s]"
        for m, i in zip(registry.models.values(), registry.infos(), strict=True)
    )
    log.info(
        "serving on %s:%d in %.1fs; models: %s",
        settings.host,
        port,
        time.monotonic() - started,
        summary,
    )
    print(READY_LINE.format(host=settings.host, port=port), flush=True)
    if on_ready is not None:
        on_ready(port)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Not possible off the main thread (tests run the server in a thread).
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    watch = None
    if settings.registry is not None and settings.watch_seconds > 0:
        watch = asyncio.create_task(_watch_registry(reloader, settings.watch_seconds))
    await stop.wait()
    if watch is not None:
        watch.cancel()
    log.info(
        "shutting down: health NOT_SERVING for %.1fs, then %.1fs grace for in-flight requests",
        settings.drain_seconds,
        settings.grace_seconds,
    )
    await health.enter_graceful_shutdown()
    # The listener stays open while load balancers notice; requests still get answers.
    await asyncio.sleep(settings.drain_seconds)
    analyzer.closing = True
    await server.stop(settings.grace_seconds)
    await asyncio.to_thread(analyzer.close, settings.grace_seconds)
    if metrics is not None:
        metrics.stop()
    log.info("stopped")
    sys.stdout.flush()
