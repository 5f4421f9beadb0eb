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

from textlens.server.assembly import load_registry
from textlens.server.runtime.analyzer import Analyzer
from textlens.server.runtime.registry import ModelRegistry
from textlens.server.runtime.reload import Reloader
from textlens.server.settings import ServerSettings
from textlens.server.transport.access_log import AccessLog
from textlens.server.transport.auth import TokenTable
from textlens.server.transport.guard import StandardServicesGuard
from textlens.server.transport.model_health import ModelHealthServicer
from textlens.server.transport.service import SERVICE_NAME, TextAnalysisService, generic_handler

if TYPE_CHECKING:
    from textlens.server.transport.server_metrics import ServerMetrics

log = logging.getLogger(__name__)

READY_LINE = "textlens: serving on {host}:{port}"


def channel_options(settings: ServerSettings) -> list[tuple[str, int]]:
    """Message limits and keepalive/idle settings as gRPC server options."""
    ms = 1000
    options = [
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.keepalive_time_ms", int(settings.keepalive_seconds * ms)),
        ("grpc.keepalive_timeout_ms", int(settings.keepalive_timeout_seconds * ms)),
        (
            "grpc.http2.min_ping_interval_without_data_ms",
            int(settings.min_client_ping_seconds * ms),
        ),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    if settings.max_connection_idle_seconds > 0:
        options.append(
            ("grpc.max_connection_idle_ms", int(settings.max_connection_idle_seconds * ms))
        )
    if settings.max_connection_age_seconds > 0:
        options += [
            ("grpc.max_connection_age_ms", int(settings.max_connection_age_seconds * ms)),
            ("grpc.max_connection_age_grace_ms", int(settings.grace_seconds * ms)),
        ]
    return options


def server_credentials(settings: ServerSettings) -> grpc.ServerCredentials | None:
    """TLS (and, with tls_client_ca, required client certificates) from PEM files."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    cert = settings.tls_cert.read_bytes()
    key = settings.tls_key.read_bytes()
    client_ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def _warn_if_exposed(settings: ServerSettings, tokens: TokenTable) -> None:
    loopback = settings.host in ("127.0.0.1", "::1", "localhost")
    if loopback:
        return
    if settings.tls == "plaintext":
        log.warning(
            "serving on %s in plaintext: texts and tokens cross the network readable; "
            "set tls_cert and tls_key (docs/security.md)",
            settings.host,
        )
    if not tokens.reads_need_token:
        log.warning(
            "serving on %s without read tokens: anyone who reaches the port may call the "
            "data RPCs; set read_tokens or token_file (docs/security.md)",
            settings.host,
        )


def create_server(
    settings: ServerSettings,
    analyzer: Analyzer,
    reloader: Reloader | None = None,
    metrics: ServerMetrics | None = None,
) -> tuple[grpc.aio.Server, int, health_aio.HealthServicer]:
    """An unstarted grpc.aio server bound to settings.host:port (port 0: any free port)."""
    tokens = TokenTable.create(settings.admin_token, settings.read_tokens, settings.token_file)
    guard = StandardServicesGuard(
        tokens, open_health=settings.open_health, open_reflection=settings.open_reflection
    )
    server = grpc.aio.server(
        interceptors=(guard,),
        options=channel_options(settings),
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs or None,
    )
    reloader = reloader or Reloader(analyzer.registry, settings)
    service = TextAnalysisService(analyzer, reloader, tokens, settings.max_message_bytes)
    access = AccessLog(settings.access_log) if settings.access_log > 0 else None
    server.add_generic_rpc_handlers((generic_handler(service, metrics, access),))
    health = ModelHealthServicer(analyzer.registry)  # plus textlens.v1.TextAnalysis/NAME
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"{settings.host}:{settings.port}"
    credentials = server_credentials(settings)
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    if port == 0:
        raise OSError(f"could not bind {address} (in use?)")
    _warn_if_exposed(settings, tokens)
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
        # A registered model none of whose versions loads is left out, not the server.
        registry = await asyncio.to_thread(load_registry, settings)
    analyzer = Analyzer(
        registry,
        max_texts_per_request=settings.max_texts_per_request,
        max_text_chars=settings.max_text_chars,
    )
    await asyncio.to_thread(warm_up, analyzer)
    reloader = Reloader(registry, settings)
    metrics = None
    if settings.metrics_port is not None:
        from textlens.server.transport.server_metrics import ServerMetrics

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
        "serving on %s:%d (%s) in %.1fs; models: %s",
        settings.host,
        port,
        settings.tls,
        time.monotonic() - started,
        summary,
    )
    for name, why in registry.unserved.items():
        log.error("not serving registered model %s (no version of it loads): %s", name, why)
    measuring = registry.context.deferred.pending()
    if measuring:
        log.info(
            "first start on this machine: answering on torch/float32 meanwhile, in the "
            "background: %s (each model switches when measured; later starts reuse the choice)",
            "; ".join(measuring),
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
