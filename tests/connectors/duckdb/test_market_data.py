"""The generated finance stream behind the "Market pulse" demo: shape, determinism, incident."""

from __future__ import annotations

import re
from collections import Counter

import duckdb
import pytest

from textlens.samples.market_news import (
    ANALYSTS,
    COMPANIES,
    END,
    INCIDENT_END,
    INCIDENT_START,
    INCIDENT_TICKER,
    START,
    TICKERS,
    create_news_table,
    generate_news,
    topic_masks,
)


def test_fixed_seed() -> None:
    assert generate_news(500) == generate_news(500)
    assert generate_news(500) != generate_news(500, seed=12)


def test_table_columns_and_range() -> None:
    con = duckdb.connect()
    assert create_news_table(con, "news", 4000) == 4000
    columns = con.execute("DESCRIBE news").fetchall()
    assert [(c[0], c[1]) for c in columns] == [
        ("id", "BIGINT"),
        ("published_at", "TIMESTAMP"),
        ("ticker", "VARCHAR"),
        ("source", "VARCHAR"),
        ("headline", "VARCHAR"),
    ]
    row = con.execute(
        "SELECT count(*), min(id), max(id), min(published_at), max(published_at), "
        "count(DISTINCT ticker), list(DISTINCT source ORDER BY source), "
        "count(DISTINCT headline) FROM news"
    ).fetchone()
    assert row is not None
    count, first, last, earliest, latest, tickers, sources, distinct = row
    assert (count, first, last, tickers, sources) == (4000, 1, 4000, 12, ["news", "post"])
    assert earliest >= START and latest < END and (END - START).days >= 120
    assert distinct > 1000  # templates x companies x numbers: not a handful of repeats


def test_every_text_names_its_ticker() -> None:
    """`aspect_sentiment(headline, [ticker])` needs the ticker in the text (whole word)."""
    for item in generate_news(2000):
        assert re.search(rf"(?<!\w){item.ticker}(?!\w)", item.headline), item
    assert set(TICKERS) == {item.ticker for item in generate_news(2000)}


def test_the_incident_is_a_burst_of_negative_coverage_near_the_end() -> None:
    items = generate_news(4000)
    ours = [i for i in items if i.ticker == INCIDENT_TICKER]
    during = [i for i in ours if INCIDENT_START <= i.published_at < INCIDENT_END]
    before = [i for i in ours if i.published_at < INCIDENT_START]
    share = {
        "during": sum(i.tone == "negative" for i in during) / len(during),
        "before": sum(i.tone == "negative" for i in before) / len(before),
    }
    assert share["during"] >= 0.6 and share["before"] <= 0.2, share
    days = (INCIDENT_END - INCIDENT_START).days
    assert 3 <= days <= 5
    per_day_before = len(before) / (INCIDENT_START - START).days
    assert len(during) / days > 8 * per_day_before  # the coverage multiplies
    # Near the end: the demo's Superset alert treats the last week of data as "new".
    assert (END - INCIDENT_START).days <= 8
    # Elsewhere the usual mix: no other ticker has a week of mostly bad news.
    weeks: dict[tuple[str, int], Counter[str]] = {}
    for i in items:
        if i.ticker != INCIDENT_TICKER:
            weeks.setdefault((i.ticker, i.published_at.isocalendar().week), Counter())[i.tone] += 1
    worst = max(c["negative"] / c.total() for c in weeks.values() if c.total() >= 10)
    assert worst < 0.5


@pytest.mark.parametrize("n", [1, 50])
def test_small_streams_work(n: int) -> None:
    assert len(generate_news(n)) == n


def test_topic_masks_take_out_every_name() -> None:
    masks = [(re.compile(pattern), replacement) for pattern, replacement in topic_masks()]
    texts = []
    for item in generate_news(1000):
        text = item.headline
        for pattern, replacement in masks:
            text = pattern.sub(replacement, text)
        texts.append(text)
    names = [c.name for c in COMPANIES] + list(TICKERS) + [c.product for c in COMPANIES] + ANALYSTS
    leaked = [t for t in texts if any(re.search(rf"\b{re.escape(n)}\b", t) for n in names)]
    assert not leaked, leaked[:5]
    assert any("the company" in t for t in texts) and any("stock" in t for t in texts)
