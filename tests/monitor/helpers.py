"""Helpers the monitor tests share (import them; never import a test module).

Synthetic headline streams whose truth is known: stationary, or with an injected spike.
Each row picks a ticker, a day and a sentiment class (negative with probability `p`,
else positive or neutral), then a template of that class. The templates are plain
enough that the default sentiment model labels them as written
(`test_templates_are_labelled_as_written` checks), so the negative share the monitor
sees is the one generated.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def parquet_rows(path: Path, sql: str = "SELECT * FROM t") -> list[tuple[Any, ...]]:
    """The rows of a Parquet file the monitor wrote, as `sql` over the view `t`."""
    import duckdb

    con = duckdb.connect()
    quoted = str(path).replace("'", "''")
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{quoted}')")
    return con.execute(sql).fetchall()


TICKERS = ["ACME", "BOLT", "CRUX", "DYNA", "ECHO", "FLUX"]
START = dt.datetime(2026, 1, 5)
NEGATIVE = [
    "{t} shares plunge after a disastrous profit warning",
    "{t} shares tumble after a fraud scandal",
    "{t} recalls faulty products after injuries, stock crashes",
    "Terrible quarter for {t} as losses widen sharply",
    "{t} slashes its forecast and cuts thousands of jobs",
]
POSITIVE = [
    "{t} shares soar after record profits",
    "{t} beats estimates and raises its dividend",
    "Strong demand lifts {t} to an all-time high",
    "{t} wins a major contract, analysts upgrade the stock",
]
NEUTRAL = [
    "{t} will report quarterly results on Thursday",
    "{t} schedules its annual shareholder meeting for May",
    "{t} names a new chief financial officer",
    "{t} to present at an industry conference next week",
]


@dataclass(frozen=True)
class Spike:
    ticker: str
    first_day: int
    days: int
    share: float


def stream(
    days: int = 70, per_day: int = 60, p: float = 0.15, spike: Spike | None = None, seed: int = 1
) -> list[tuple[int, dt.datetime, str, str]]:
    """(id, published_at, ticker, headline) rows, `per_day` rows per day over all tickers."""
    rng = random.Random(seed)
    rows = []
    for day in range(days):
        for _ in range(per_day):
            ticker = rng.choice(TICKERS)
            share = p
            if (
                spike
                and ticker == spike.ticker
                and spike.first_day <= day < spike.first_day + spike.days
            ):
                share = spike.share
            negative = rng.random() < share
            pool = NEGATIVE if negative else POSITIVE if rng.random() < 0.5 else NEUTRAL
            when = START + dt.timedelta(days=day, seconds=rng.randrange(86400))
            rows.append((len(rows), when, ticker, rng.choice(pool).format(t=ticker)))
    return rows


def write_stream(
    db: Path, rows: list[tuple[int, dt.datetime, str, str]], table: str = "news"
) -> None:
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} (id INTEGER, published_at TIMESTAMP, "
            "ticker VARCHAR, headline VARCHAR)"
        )
        con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", rows)
