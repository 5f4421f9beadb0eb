"""Stationary labelled streams, to measure the spike test's false-alert rate.

Used by `scripts/monitor_false_positives.py` (the figures in
docs/monitoring.md) and the tests: G groups x D daily windows, Poisson(λ)
rows per window, each negative with probability p, the label in a column so
that `--sentiment-column` runs the real monitor without a model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_stationary(db: Path, groups: int, days: int, rows_per_window: float, p: float,
                     seed: int) -> int:  # fmt: skip
    import duckdb
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    counts = rng.poisson(rows_per_window, size=(groups, days))
    group = np.repeat(np.repeat(np.arange(groups), days), counts.ravel())
    day = np.repeat(np.tile(np.arange(days), groups), counts.ravel())
    negative = rng.random(len(group)) < p
    start = np.datetime64("2025-01-06T12:00:00")
    table = pa.table({
        "grp": pa.array([f"g{g:03d}" for g in range(groups)])
            .take(pa.array(group)),
        "ts": pa.array(start + day.astype("timedelta64[D]")),
        "body": pa.array(np.full(len(group), "x")),
        "label": pa.array(np.where(negative, "negative", "positive")),
    })  # fmt: skip
    with duckdb.connect(str(db)) as con:
        con.register("generated", table)
        con.execute("CREATE OR REPLACE TABLE s AS SELECT * FROM generated")
    return len(group)
