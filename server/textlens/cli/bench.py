"""`textlens bench`: arguments in, `benchmark.run_bench` called, JSON out."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from textlens.cli.options import RenamedOption


def add_bench_parser(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="measure every backend x dtype of the models on this machine",
        description="rows/s, tokens/s, GFLOP/s against the measured matmul peak, agreement "
        "with float32 and cold/warm start seconds, per model and backend x dtype; prints the "
        "CPU flags, a table and JSON.",
    )
    bench.add_argument("--config", type=Path, default=None, help="TOML with [[models]]")
    bench.add_argument(
        "--task",
        action="append",
        default=[],
        help="only these tasks (repeatable; default every configured model)",
    )
    bench.add_argument("--rows", type=int, default=1000, help="synthetic reviews per model")
    bench.add_argument("--threads", type=int, default=0, help="0: the cores this process may use")
    bench.add_argument(
        "--out",
        "--json",
        dest="out",
        type=Path,
        default=None,
        action=RenamedOption,
        help="also write the JSON to this file (--json: the old name)",
    )
    bench.set_defaults(func=run_bench_command)


def run_bench_command(args: argparse.Namespace) -> int:
    from textlens.server.inference.benchmark import run_bench
    from textlens.server.settings import load_settings

    specs = [m for m in load_settings(args.config).models if not args.task or m.task in args.task]
    result = run_bench(specs, rows=args.rows, threads=args.threads)
    text = json.dumps(result)
    print(text)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0
