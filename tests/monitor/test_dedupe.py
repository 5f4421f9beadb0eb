"""`textlens monitor --dedupe`: thirty syndicated copies of one negative headline do not make
a spike by themselves; thirty distinct negative headlines still do.

The stream is real financial headlines (SEntFiN, from the shared data) with their own
labels (`sentiment_column`), spread over four tickers and 45 days; the near-copies are
found by the default embedding model.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest

from tests.monitor.helpers import START, parquet_rows

TICKERS = ["ACME", "BOLT", "CRUX", "DYNA"]
DAYS, PER_DAY, SPIKE_DAY = 45, 100, 40
SYNDICATION = [
    "{h}",
    "{h} - Reuters",
    "UPDATE 1-{h}",
    "{h} | Markets",
    "BREAKING: {h}",
    "{h} (Bloomberg)",
    "{h} - ET Markets",
    "{h}: report",
    "UPDATE 2-{h}",
    "{h} - MarketWatch",
]


def _words(text: str) -> set[str]:
    return {w for w in text.lower().split() if len(w) > 3}


def headlines(shared_data: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(text, label) for the stream, and 30 negative headlines about 30 different stories
    (no two share half their longer words) kept out of it."""
    seen: set[str] = set()
    rows = []
    with (shared_data / "sentfin_entity_train.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = row["text"].strip().lower()
            if key not in seen:
                seen.add(key)
                rows.append((row["text"].strip(), row["label"]))
    random.Random(4).shuffle(rows)
    distinct: list[str] = []
    for text, label in rows[DAYS * PER_DAY :]:
        words = _words(text)
        if label == "negative" and all(len(words & _words(d)) <= len(words) // 2 for d in distinct):
            distinct.append(text)
        if len(distinct) == 30:
            break
    return rows[: DAYS * PER_DAY], distinct


def write(db: Path, stream: list[tuple[str, str]], injected: list[str]) -> None:
    import duckdb

    rng = random.Random(9)
    rows = []
    for i, (text, label) in enumerate(stream):
        when = START + dt.timedelta(days=i // PER_DAY, seconds=rng.randrange(86400))
        rows.append((len(rows), when, rng.choice(TICKERS), text, label))
    spike = START + dt.timedelta(days=SPIKE_DAY, hours=9)
    for j, text in enumerate(injected):
        rows.append((len(rows), spike + dt.timedelta(minutes=j), "CRUX", text, "negative"))
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE news (id INTEGER, published_at TIMESTAMP, ticker VARCHAR, "
            "headline VARCHAR, label VARCHAR)"
        )
        con.executemany("INSERT INTO news VALUES (?, ?, ?, ?, ?)", rows)


def run(db: Path, out: Path, dedupe: float | None) -> Any:
    from textlens.monitor import MonitorSpec, run_monitor

    spec = MonitorSpec(
        db=db, table="news", text="headline", time="published_at", by=["ticker"], out=out,
        sentiment_column="label", progress=False, dedupe=dedupe,
    )  # fmt: skip
    return run_monitor(spec)


def crux_spike(out: Path) -> list[tuple[Any, ...]]:
    return parquet_rows(
        out / "windows.parquet",
        "SELECT n, negative, folded, is_alert FROM t WHERE ticker = 'CRUX' "
        f"AND window_start = TIMESTAMP '{START + dt.timedelta(days=SPIKE_DAY)}'",
    )


@pytest.mark.shared_data
def test_copies_fold_and_distinct_stories_still_alert(shared_data: Path, tmp_path: Path) -> None:
    stream, distinct = headlines(shared_data)
    assert len(distinct) == 30
    negative = next(t for t, label in stream[-200:] if label == "negative")
    copies = [SYNDICATION[i % len(SYNDICATION)].format(h=negative) for i in range(30)]

    copied = tmp_path / "copies.duckdb"
    write(copied, stream, copies)
    plain = run(copied, tmp_path / "plain", None)
    assert plain.alerts == 1 and plain.folded == 0  # without --dedupe the copies are a spike
    [(n_plain, negative_plain, folded_plain, alert_plain)] = crux_spike(tmp_path / "plain")
    assert alert_plain and folded_plain == 0

    folded = run(copied, tmp_path / "folded", 0.9)
    [(n, negatives, folded_here, alert)] = crux_spike(tmp_path / "folded")
    assert not alert and folded.alerts == 0
    assert folded_here >= 29 and n == n_plain - folded_here
    assert negatives == negative_plain - folded_here
    alerts = parquet_rows(tmp_path / "folded" / "alerts.parquet", "SELECT count(*) FROM t")
    assert alerts == [(0,)]

    varied = tmp_path / "distinct.duckdb"
    write(varied, stream, distinct)
    result = run(varied, tmp_path / "distinct", 0.9)
    [(n, negatives, folded_here, alert)] = crux_spike(tmp_path / "distinct")
    assert alert and result.alerts == 1 and folded_here <= 2
    examples = parquet_rows(
        tmp_path / "distinct" / "alerts.parquet", "SELECT examples, folded FROM t"
    )
    assert len(set(examples[0][0])) == 3 and examples[0][1] == folded_here
    # Outside the injected window the real stream has few copies to fold.
    assert result.folded - folded_here < 0.02 * DAYS * PER_DAY
