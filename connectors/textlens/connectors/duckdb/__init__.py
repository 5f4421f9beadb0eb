"""textlens models as DuckDB functions: `SELECT sentiment(review) FROM reviews`.

    import duckdb
    from textlens.connectors.duckdb import register

    con = duckdb.connect("warehouse.duckdb")
    tl = register(con)                      # embedded: models run in this process
    tl = register(con, target="host:50051") # remote: a textlens server (no torch needed)
    con.sql("SELECT sentiment(review), sentiment_score(review) FROM reviews")
    tl.stats()                              # rows, duplicates folded, cache hits, computed

Functions (each also takes a model name: `sentiment(text, 'finance')`):
`sentiment`, `sentiment_score`, `sentiment_probs`, `entities`, `embed`,
`classify(text, labels[, model[, hypothesis_template]])`, `classify_scores`.
See docs/sql.md for types, NULL handling, caching and errors.
"""

from __future__ import annotations

from textlens.connectors.duckdb.backend import Backend, ModelResolver
from textlens.connectors.duckdb.cache import CacheStats, ResultCache
from textlens.connectors.duckdb.embedded import EmbeddedBackend, shared_analyzer
from textlens.connectors.duckdb.register import Registration, register
from textlens.connectors.duckdb.remote import RemoteBackend

__all__ = [
    "Backend",
    "CacheStats",
    "EmbeddedBackend",
    "ModelResolver",
    "Registration",
    "RemoteBackend",
    "ResultCache",
    "register",
    "shared_analyzer",
]
