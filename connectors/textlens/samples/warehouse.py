"""The demo warehouse the README and docs query: one DuckDB file, three seeded tables.

`reviews` (review_id, review_date, product, brand, rating, review), `news` (id,
published_at, ticker, source, headline) and `pairs` (a, b) for the similarity example.
`textlens demo-data PATH` writes it; tests/test_docs.py runs every example against it.
"""

from __future__ import annotations

from pathlib import Path

from textlens.samples.market_news import create_news_table
from textlens.samples.reviews import create_reviews_table

#: Sentence pairs for `array_cosine_similarity(embed(a), embed(b))`.
PAIRS = [
    ("The battery lasts two days", "Battery life is excellent"),
    ("The battery lasts two days", "Delivery was late"),
    ("Shares fell after the profit warning", "The stock dropped on weak guidance"),
    ("Shares fell after the profit warning", "The new office opens in Berlin"),
]


def create_demo_warehouse(path: Path, *, reviews: int = 3000, news: int = 4000) -> dict[str, int]:
    """(Re)create the three tables in the DuckDB file `path`; returns rows per table."""
    import duckdb

    with duckdb.connect(str(path)) as con:
        counts = {
            "reviews": create_reviews_table(con, "reviews", reviews),
            "news": create_news_table(con, "news", news),
        }
        con.execute("CREATE OR REPLACE TABLE pairs (a VARCHAR, b VARCHAR)")
        con.executemany("INSERT INTO pairs VALUES (?, ?)", PAIRS)
        counts["pairs"] = len(PAIRS)
    return counts
