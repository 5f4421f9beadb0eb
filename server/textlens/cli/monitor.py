"""`textlens monitor`: the command line over `textlens.monitor.run_monitor`."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path
from typing import Any

from textlens.cli.options import add_backend_options, add_text_column, use_registry
from textlens.contract.limits import NEAR_DUPLICATE_THRESHOLD, TARGET_ENV


def _timestamp(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since takes an ISO date or time (2026-03-01, 2026-03-01T12:00), not {value!r}"
        ) from None


def add_monitor_parser(sub: Any) -> None:
    monitor = sub.add_parser(
        "monitor",
        help="negative-sentiment share per group and window, with spike alerts",
        description="Scores a table's texts (cached: a rerun computes nothing), aggregates "
        "n / negative share / mean score per group and window, tests each window against "
        "its trailing baseline (two-proportion z-test) and writes windows.parquet, "
        "alerts.parquet and scores.parquet to --out, atomically. Opens --db read-only.",
    )
    add_backend_options(monitor, db_required=True)
    monitor.add_argument("--table", required=True, help="table (or schema.table) to watch")
    add_text_column(monitor, old=["--text"])
    monitor.add_argument("--time", required=True, help="the timestamp/date column")
    monitor.add_argument(
        "--by", action="append", default=[], help="group column, e.g. ticker (repeatable)"
    )
    monitor.add_argument(
        "--by-topic", default=None, metavar="MODEL",
        help="also group by topic: a topic model from `textlens topics fit` (e.g. news-topics)",
    )  # fmt: skip
    monitor.add_argument("--window", default="1d", help="window length: 6h, 1d, 1w (default 1d)")
    monitor.add_argument("--baseline", default="28d", help="trailing baseline (default 28d)")
    monitor.add_argument(
        "--cooldown", default="7d", help="above-threshold windows closer than this are one alert"
    )
    monitor.add_argument("--min-n", type=int, default=20, help="rows a window needs to alert")
    monitor.add_argument("--min-baseline-n", type=int, default=50, help="rows the baseline needs")
    monitor.add_argument("--threshold", type=float, default=4.0, help="z to alert (default 4)")
    monitor.add_argument(
        "--min-lift", type=float, default=0.10, help="negative share above baseline to alert"
    )
    monitor.add_argument("--examples", type=int, default=3, help="example texts per alert")
    monitor.add_argument(
        "--since",
        type=_timestamp,
        default=None,
        help="recompute windows from here on, keep earlier outputs (cron)",
    )
    monitor.add_argument("--out", type=Path, required=True, help="output directory")
    monitor.add_argument("--sentiment-model", default=None, help="sentiment model name")
    monitor.add_argument(
        "--sentiment-column", default=None,
        help="use the table's own sentiment labels (e.g. from textlens enrich) instead of a model",
    )  # fmt: skip
    monitor.add_argument(
        "--dedupe", type=float, nargs="?", const=NEAR_DUPLICATE_THRESHOLD, default=None,
        metavar="THRESHOLD",
        help="count near-copies (embedding cosine >= THRESHOLD, default "
        f"{NEAR_DUPLICATE_THRESHOLD}) once per window and group, by their most negative copy",
    )  # fmt: skip
    monitor.add_argument("--no-progress", action="store_true", help="no progress bar")
    monitor.set_defaults(func=run_monitor_command)


def run_monitor_command(args: argparse.Namespace) -> int:
    import duckdb

    from textlens.jobs.enrich import unscored_summary
    from textlens.monitor import MonitorSpec, run_monitor

    use_registry(args)
    spec = MonitorSpec(
        db=args.db, table=args.table, text=args.text_column, time=args.time, out=args.out,
        by=args.by, by_topic=args.by_topic, window=args.window, baseline=args.baseline,
        cooldown=args.cooldown, min_n=args.min_n, min_baseline_n=args.min_baseline_n,
        threshold=args.threshold, min_lift=args.min_lift, examples=args.examples,
        since=args.since, target=args.target or os.environ.get(TARGET_ENV), config=args.config,
        sentiment_model=args.sentiment_model, sentiment_column=args.sentiment_column,
        progress=not args.no_progress, dedupe=args.dedupe,
    )  # fmt: skip
    try:
        result = run_monitor(spec)
    except duckdb.Error as exc:
        raise ValueError(f"monitor query failed: {exc}") from exc
    print(
        f"{result.rows:,} rows ({result.skipped:,} skipped: no text or time), "
        f"{result.computed:,} texts scored, {result.windows:,} windows, "
        f"{result.alerts} alerts ({result.new_alerts} in this run) -> {result.out}"
        + unscored_summary(result.unscored)
        + (f"; {result.folded:,} near-copies folded (--dedupe)" if spec.dedupe else "")
    )
    con = duckdb.connect()
    rows = con.execute(
        "SELECT dimension, group_value, window_start, n, negative_share, baseline_share, z, "
        "examples[1], folded FROM read_parquet(?) ORDER BY window_start, dimension, group_value",
        [str(result.files()["alerts"])],
    ).fetchall()
    for dim, grp, start, n, share, base, z, example, folded in rows:
        copies = f", {folded} copies folded" if folded else ""
        print(
            f"  ALERT {dim}={grp} {start:%Y-%m-%d %H:%M} n={n} negative {share:.0%} "
            f"(baseline {base:.0%}, z={z:.1f}{copies})  e.g. {example!r}"
        )
    return 0
