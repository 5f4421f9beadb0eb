"""`textlens ray serve` and `textlens ray reload`: the deployment on a Ray cluster.

Argument parsing only at import; Ray is imported when a command runs, and a
missing `textlens[ray]` is a one-line error saying what to install.

A local cluster that `serve` starts is kept to loopback where Ray lets it
(`exposure.py`), and the address printed is the one the proxy is bound to.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def add_ray_parser(sub: Any) -> None:
    ray = sub.add_parser("ray", help="serve textlens.v1 on Ray Serve replicas (textlens[ray])")
    commands = ray.add_subparsers(dest="ray_command", required=True)
    serve = commands.add_parser(
        "serve",
        help="start the textlens app on a Ray cluster ([ray] table of --config) and wait",
        description="Connects to --address (default: a running cluster, else a local one; "
        "'local' always starts one), starts Serve's gRPC proxy with the textlens.v1 servicer "
        "and the replicas, prints the address the proxy is bound to, and keeps running "
        "until Ctrl-C (which shuts the app down). A local cluster binds the proxies to "
        "[ray] host (default 127.0.0.1); see docs/scale-out.md for what else Ray opens.",
    )
    serve.add_argument("--config", type=Path, default=None, help="textlens.toml with [ray]")
    serve.add_argument(
        "--address", default=None, help="Ray cluster address, or 'local' (default: auto)"
    )
    serve.add_argument("--detach", action="store_true", help="return once serving")
    serve.set_defaults(func=_serve)
    reload = commands.add_parser(
        "reload",
        help="make every replica re-read the model registry (Serve's user_config)",
        description="Sends a new registry_version to the running textlens app. The app "
        "keeps the config it was started with; --config is only needed to change it.",
    )
    reload.add_argument(
        "--config",
        type=Path,
        default=None,
        help="redeploy with this textlens.toml (default: the running app's own config)",
    )
    reload.add_argument("--address", default="auto")
    reload.add_argument("--version", required=True, help="any new string, e.g. a timestamp")
    reload.set_defaults(func=_reload)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ValueError(
            "textlens ray needs Ray: pip install 'textlens[ray]' (ray[serve]==2.60.0)"
        ) from None
    return ray


def _serve(args: argparse.Namespace) -> int:
    _ray()
    from textlens.server.ray_serve.app import APP_NAME, run
    from textlens.server.ray_serve.exposure import connect_or_start, report
    from textlens.server.settings import RaySettings

    settings = RaySettings.from_config(args.config)
    local = connect_or_start(args.address, settings)
    started = time.monotonic()
    run(args.config, settings)
    address, warnings = report(settings, local=local)
    for line in warnings:
        print(f"textlens: WARNING: {line}", file=sys.stderr, flush=True)
    print(
        f"textlens: Ray Serve app {APP_NAME!r} on {address} "
        f"(gRPC metadata application={APP_NAME}) in {time.monotonic() - started:.1f}s",
        flush=True,
    )
    if args.detach:
        return 0
    from ray import serve

    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        serve.delete(APP_NAME)
    return 0


def _reload(args: argparse.Namespace) -> int:
    ray = _ray()
    from textlens.server.ray_serve.app import update_registry_version

    ray.init(address=args.address, include_dashboard=False)
    config = update_registry_version(args.version, args.config)
    source = f"config {config}" if config else "the built-in defaults"
    print(
        f"textlens: registry_version {args.version!r} sent to every replica (app kept on {source})"
    )
    return 0
