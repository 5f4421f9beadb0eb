"""Run the gRPC server on a background thread of this process.

Tests and benchmarks use it when they need the runtime's counters or custom
batching knobs while still talking to a real server over a loopback socket.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

from textlens.server.runtime.registry import ModelRegistry
from textlens.server.settings import ServerSettings
from textlens.server.transport.app import serve


class InProcessServer:
    """`serve()` on its own event loop thread; `target` is its host:port."""

    def __init__(self, registry: ModelRegistry, /, **settings: Any) -> None:
        self.registry = registry
        # No load balancer watches a test server's health: no drain pause on stop.
        defaults = {"host": "127.0.0.1", "port": 0, "models": [], "drain_seconds": 0.0}
        merged: dict[str, Any] = defaults | settings
        self.settings = ServerSettings.model_validate(merged)
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = 0
        self._thread = threading.Thread(
            target=self._run, name="textlens-inprocess-server", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(120):
            raise RuntimeError("in-process server did not start in 120 s")
        if self._error is not None:
            raise RuntimeError("in-process server failed to start") from self._error

    @property
    def target(self) -> str:
        return f"{self.settings.host}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        def ready(port: int) -> None:
            self.port = port
            self._ready.set()

        async def main() -> None:
            self._stop = asyncio.Event()
            await serve(self.settings, registry=self.registry, on_ready=ready, stop=self._stop)

        try:
            self._loop.run_until_complete(main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def __enter__(self) -> InProcessServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
