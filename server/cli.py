"""The `textlens` command line.

Sub-commands import their heavy dependencies only when run, so
`textlens --help` and the client-side commands work without torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from textlens.server.logs import configure_logging
    from textlens.server.settings import load_settings
    from textlens.server.transport.app import serve

    settings = load_settings(
        args.config, host=args.host, port=args.port, log_level=args.log_level, log_format=args.log_format
    )
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve(settings))
    return 0


def _models(args: argparse.Namespace) -> int:
    from textlens.client import Client

    with Client(args.target) as client:
        infos = client.list_models()
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], indent=2))
        return 0
    for i in infos:
        star = "*" if i.is_default else " "
        labels = ",".join(i.labels) if i.labels else f"dim={i.dim}"
        print(f"{star} {i.name:24} {i.task:10} {i.device}/{i.dtype:9} v{i.version}  {labels}  ({i.source})")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from textlens.server.demo import main as demo_main

    return demo_main([])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textlens", description="Text analytics from SQL and gRPC.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC model server")
    serve.add_argument("--config", type=Path, default=None, help="TOML config (default: $TEXTLENS_CONFIG)")
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 50051; 0 = any free port)")
    serve.add_argument("--log-level", default=None)
    serve.add_argument("--log-format", choices=["text", "json"], default=None)
    serve.set_defaults(func=_serve)

    models = sub.add_parser("models", help="list the models a server serves")
    models.add_argument("--target", default=None, help="host:port (default $TEXTLENS_TARGET)")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=_models)

    demo = sub.add_parser("demo", help="start a server on the default models and analyse a few texts")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from textlens.client.errors import TextlensError

        if isinstance(exc, TextlensError | FileNotFoundError | ValueError):
            print(f"textlens: error: {exc}", file=sys.stderr)
            return 2
        raise
    return code


if __name__ == "__main__":
    raise SystemExit(main())
