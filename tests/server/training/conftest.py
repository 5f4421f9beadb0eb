"""Tiny labelled data for training tests: learnable in seconds by the tiny random models."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.training.helpers import topic_rows


@pytest.fixture
def topics_db(tmp_path: Path) -> Path:
    """A DuckDB file with `tickets(body, topic, labelled)`: 90 labelled rows, 10 unlabelled."""
    import duckdb

    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE tickets (body VARCHAR, topic VARCHAR, labelled BOOLEAN)")
    rows = [(t, lab, True) for t, lab in topic_rows(90)]
    rows += [(t, None, False) for t, _ in topic_rows(10, seed=1)]
    con.executemany("INSERT INTO tickets VALUES (?, ?, ?)", rows)
    con.close()
    return db
