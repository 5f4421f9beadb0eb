"""Bind Serve's gRPC proxy to `[ray] host` on a local cluster (issue 22, item 4).

Ray 2.60's Serve binds its HTTP proxy to `http_options.host` but its gRPC
proxy has no host option: `ray.serve._private.grpc_util.start_grpc_server`
always adds `[::]:port`, so the plaintext textlens.v1 endpoint listened on
every interface while `textlens ray serve` printed 127.0.0.1.
`bind_grpc_proxy` runs in each worker process of a local cluster that
`textlens ray serve` starts (`worker_process_setup_hook`, which Serve's
controller and proxy actors inherit) and swaps that one address for
`$TEXTLENS_RAY_PROXY_HOST:port`. Ray is pinned (pyproject); if a release
moves the helper, nothing is swapped and `ray serve` reports, from the
socket table, what the proxy really listens on (`exposure.py`).
"""

from __future__ import annotations

import os
from typing import Any

#: Set by `textlens ray serve` for a local cluster's workers: the address Serve's gRPC
#: proxy binds (`[ray] host`), not every interface.
HOST_ENV = "TEXTLENS_RAY_PROXY_HOST"
HOOK = f"{__name__}.bind_grpc_proxy"
ALL_INTERFACES = {"", "0.0.0.0", "::", "[::]"}


def bind_grpc_proxy() -> None:
    """`worker_process_setup_hook`: Serve's gRPC proxy binds `host:port`, not `[::]:port`."""
    host = os.environ.get(HOST_ENV, "127.0.0.1")
    if host in ALL_INTERFACES:
        return
    try:
        from ray.serve._private import default_impl
    except ImportError:  # a worker without Serve: nothing to bind
        return
    original = default_impl.add_grpc_address
    if getattr(original, "textlens_host", None) is not None:
        return
    bracketed = f"[{host}]" if ":" in host else host

    def add_grpc_address(grpc_server: Any, server_address: str) -> None:
        _, _, port = server_address.rpartition(":")
        original(grpc_server, f"{bracketed}:{port}")

    add_grpc_address.textlens_host = host  # type: ignore[attr-defined]
    default_impl.add_grpc_address = add_grpc_address
