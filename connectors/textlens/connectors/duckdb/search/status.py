"""Is an index in step with its table? Counted exactly, without loading a model.

Staleness is measured, not guessed from timestamps: the source's text hashes are
compared with the index's, so `textlens index list` says how many rows a refresh would
embed and how many vectors it would drop. A model whose version changed is something
only the server knows; `refresh` finds it (and rebuilds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textlens.connectors.duckdb.search.catalog import IndexSpec, all_specs, vectors_table

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class IndexStatus:
    """One index and how far its table has moved since the last refresh."""

    spec: IndexSpec
    #: Source rows with a text the index lacks: new rows, or texts changed since.
    changed: int
    #: Vectors whose row is gone upstream (deleted, or its text now NULL or blank).
    deleted: int
    #: Why the source cannot be read ("" when it can).
    problem: str = ""

    @property
    def stale(self) -> bool:
        return bool(self.problem or self.changed or self.deleted)

    def describe(self) -> str:
        if self.problem:
            return f"broken: {self.problem}"
        if not self.stale:
            return "up to date"
        return (
            f"stale: {self.changed:,} new or changed, {self.deleted:,} deleted rows "
            "since the last refresh"
        )


def index_status(con: duckdb.DuckDBPyConnection, spec: IndexSpec) -> IndexStatus:
    import duckdb

    table = vectors_table(spec.name)
    try:
        row = con.execute(
            f"WITH src AS ({spec.source_rows_sql()}) SELECT "
            f"(SELECT count(*) FROM src s WHERE NOT EXISTS (SELECT 1 FROM {table} v "
            f"WHERE v.id = s.id AND v.text_hash = s.text_hash)), "
            f"(SELECT count(*) FROM {table} v WHERE NOT EXISTS "
            f"(SELECT 1 FROM src s WHERE s.id = v.id))"
        ).fetchall()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return IndexStatus(spec, 0, 0, problem=f"cannot read {spec.source}: {first}")
    changed, deleted = (int(row[0][0]), int(row[0][1])) if row else (0, 0)
    return IndexStatus(spec, changed, deleted)


def list_indexes(con: duckdb.DuckDBPyConnection) -> list[IndexStatus]:
    """Every index of the database, with its staleness."""
    return [index_status(con, spec) for spec in all_specs(con)]
