"""Fixtures for the `duckdb+textlens` dialect tests: a real tiny-model server and a DuckDB file.

The tiny server and its config are tests/connectors/conftest.py's (one per session).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="the dialect needs the `sqlalchemy` extra")
pytest.importorskip("duckdb_engine", reason="the dialect needs the `sqlalchemy` extra")

#: Reviews in the test warehouse: enough for several DuckDB chunks per thread.
N_REVIEWS = 300


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file with a `reviews` table (sample_data), closed: tests open it read-only."""
    import duckdb

    from textlens.samples.reviews import create_reviews_table

    path = tmp_path_factory.mktemp("sqlalchemy") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        create_reviews_table(con, "reviews", N_REVIEWS)
    return path
