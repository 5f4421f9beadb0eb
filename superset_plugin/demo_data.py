"""The demo warehouse: generated reviews plus the `reviews_enriched` table the dashboard reads.

Written before Superset opens the file (read-only): DuckDB lets one writer or
many readers hold a file, never both.
"""

from __future__ import annotations

from pathlib import Path

from textlens.connectors.duckdb.enrich import EnrichResult, enrich

ENRICHED_TABLE = "reviews_enriched"


def prepare_warehouse(db: Path, target: str, reviews: int = 3000) -> EnrichResult:
    """(Re)create `reviews` and enrich it through the server at `target` (remote mode)."""
    import duckdb

    from textlens.connectors.duckdb.sample_data import create_reviews_table

    db.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db)) as con:
        create_reviews_table(con, "reviews", reviews, duplicate_fraction=0.1)
    return enrich(
        table="reviews",
        column="review",
        out=ENRICHED_TABLE,
        db=db,
        tasks=["sentiment", "entities"],
        target=target,
        replace=True,
        progress=False,
    )
