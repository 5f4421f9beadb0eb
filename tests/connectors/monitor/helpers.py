"""Helpers the monitor tests share (import them; never import a test module)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def parquet_rows(path: Path, sql: str = "SELECT * FROM t") -> list[tuple[Any, ...]]:
    """The rows of a Parquet file the monitor wrote, as `sql` over the view `t`."""
    import duckdb

    con = duckdb.connect()
    quoted = str(path).replace("'", "''")
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{quoted}')")
    return con.execute(sql).fetchall()
