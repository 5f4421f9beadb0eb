"""SQLAlchemy dialect `duckdb+textlens`: DuckDB with the textlens SQL functions on every connection.

    from sqlalchemy import create_engine, text

    engine = create_engine(
        "duckdb+textlens:////data/warehouse.duckdb"
        "?read_only=true&textlens_target=localhost:50051"
    )
    with engine.connect() as con:
        con.execute(text("SELECT review, sentiment(review) FROM reviews LIMIT 5")).all()

Any SQLAlchemy tool (Superset, `pandas.read_sql`, a notebook) gets `sentiment()`,
`entities()`, `embed()`, ... because the dialect registers them on each new
DBAPI connection. The URL parameters are in `options.py` (and docs/superset.md).
"""

from __future__ import annotations

from textlens.connectors.sqlalchemy.options import TextlensOptions, split_url_query

__all__ = ["TextlensOptions", "split_url_query"]
