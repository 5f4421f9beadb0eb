"""False-alert rate of `textlens monitor`'s spike test on stationary streams (no real change).

Generates G groups x D daily windows whose rows are negative with a fixed
probability p (labels in a column, so no model is involved and the truth is
exact), runs the real `run_monitor` with `--sentiment-column`, and counts,
per threshold, the eligible windows (n >= min_n, baseline >= min_baseline_n)
that are above threshold, and the alerts (episodes) per group-year. Prints
one JSON line per (rows per window, p, threshold); docs/monitoring.md quotes them.

    .venv/bin/python scripts/monitor_false_positives.py [--groups 100] [--days 365]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    from textlens.monitor import MonitorSpec, run_monitor
    from textlens.samples.headline_streams import write_stationary

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import duckdb

    for rows_per_window in (25, 100):
        for p in (0.05, 0.2):
            with tempfile.TemporaryDirectory() as tmp:
                db = Path(tmp) / "s.duckdb"
                n_rows = write_stationary(db, args.groups, args.days, rows_per_window, p, args.seed)
                spec = MonitorSpec(
                    db=db, table="s", text="body", time="ts", by=["grp"], out=Path(tmp) / "out",
                    sentiment_column="label", threshold=3.0, min_lift=0.0, progress=False,
                )  # fmt: skip
                run_monitor(spec)
                con = duckdb.connect()
                windows = str(Path(tmp) / "out" / "windows.parquet")
                eligible = con.execute(
                    "SELECT z FROM read_parquet(?) WHERE n >= 20 AND baseline_n >= 50", [windows]
                ).fetchall()
                z = np.array([r[0] if r[0] is not None else -np.inf for r in eligible])
                for threshold in (3.0, 3.5, 4.0):
                    above = int((z >= threshold).sum())
                    print(json.dumps({
                        "rows_per_window": rows_per_window, "p": p, "threshold": threshold,
                        "rows": n_rows, "eligible_windows": len(z), "above_threshold": above,
                        "rate_per_window": above / max(len(z), 1),
                        "normal_tail": float(_normal_tail(threshold)),
                        "above_per_group_year": above / args.groups * 365 / args.days,
                    }), flush=True)  # fmt: skip


def _normal_tail(z: float) -> float:
    import math

    return 0.5 * math.erfc(z / math.sqrt(2))


if __name__ == "__main__":
    main()
