"""A DuckDB connection with the textlens functions on it, as the CLI commands open it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textlens.connectors.duckdb.register import Registration, register

if TYPE_CHECKING:
    import duckdb


def open_session(
    db: str | Path | None,
    *,
    target: str | None = None,
    config: str | Path | None = None,
    models: dict[str, str] | None = None,
    truncation: str = "truncate",
) -> tuple[duckdb.DuckDBPyConnection, Registration]:
    """Connect to `db` (None: in-memory) and register the functions (remote when `target`).

    DuckDB's own progress bar is switched off: the commands draw their own.
    """
    import duckdb

    con = duckdb.connect(str(db) if db is not None else ":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        registration = register(
            con,
            target,
            config=config,
            models=models,
            truncation="error" if truncation == "error" else "truncate",
        )
    except BaseException:
        con.close()
        raise
    return con, registration
