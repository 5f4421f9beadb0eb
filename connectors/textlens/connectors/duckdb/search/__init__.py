"""Semantic search over warehouse tables: an embedding index kept in step with its table.

    from textlens.connectors.duckdb import register
    from textlens.connectors.duckdb.search import create_index, refresh_index

    reg = register(con)
    create_index(reg, "reviews", "reviews", "id", "review")   # once
    refresh_index(reg, "reviews")                              # after the table changed
    con.sql("SELECT * FROM semantic_search('reviews', 'late delivery', 10)")

The vectors live in the same DuckDB file (schema `textlens_index`); the SQL
functions (`semantic_search`, `similar_to`, `recommend`, `near_duplicates`) are
created by `register`. docs/search.md has the SQL, the lifecycle and the numbers.
"""

from textlens.connectors.duckdb.search.catalog import IndexSpec, drop
from textlens.connectors.duckdb.search.dedupe import DEFAULT_THRESHOLD, group_labels, groups
from textlens.connectors.duckdb.search.refresh import (
    RefreshResult,
    create_index,
    refresh_index,
)
from textlens.connectors.duckdb.search.status import IndexStatus, index_status, list_indexes

drop_index = drop

__all__ = [
    "DEFAULT_THRESHOLD",
    "IndexSpec",
    "IndexStatus",
    "RefreshResult",
    "create_index",
    "drop_index",
    "group_labels",
    "groups",
    "index_status",
    "list_indexes",
    "refresh_index",
]
