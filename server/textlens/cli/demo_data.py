"""`textlens demo-data PATH`: the demo warehouse every README and docs example queries."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_demo_data_parser(sub: Any) -> None:
    demo_data = sub.add_parser(
        "demo-data",
        help="write the demo warehouse the README and docs examples query",
        description="A DuckDB file with three seeded tables: reviews (generated product "
        "reviews), news (market headlines per ticker) and pairs (sentences to compare).",
    )
    demo_data.add_argument(
        "path", type=Path, nargs="?", default=Path("warehouse.duckdb"),
        help="the DuckDB file (default: warehouse.duckdb here)",
    )  # fmt: skip
    demo_data.add_argument("--reviews", type=int, default=3000, help="review rows (3000)")
    demo_data.add_argument("--news", type=int, default=4000, help="headline rows (4000)")
    demo_data.add_argument(
        "--replace", action="store_true", help="recreate the tables in an existing file"
    )
    demo_data.set_defaults(func=run_demo_data)


def run_demo_data(args: argparse.Namespace) -> int:
    from textlens.samples.warehouse import create_demo_warehouse

    if args.path.exists() and not args.replace:
        raise ValueError(f"{args.path} exists; pass --replace to recreate its demo tables")
    counts = create_demo_warehouse(args.path, reviews=args.reviews, news=args.news)
    shown = ", ".join(f"{table} ({n:,} rows)" for table, n in counts.items())
    print(f"wrote {shown} to {args.path}")
    return 0
