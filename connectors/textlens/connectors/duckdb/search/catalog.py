"""Where an embedding index lives in the warehouse, and what `index list` says about it.

An index is three objects in the schema `textlens_index` of the same DuckDB file as
its source table, so it travels with the warehouse and needs no other service:

* `catalog`: one row per index (source, id and text columns, model and version);
* `<name>`: the vectors (`id`, `text_hash`, `model_version`, `vector FLOAT[dim]`);
* `<name>__texts`: a view of the source (`id`, `text`), which the search macros join
  to return the current text of the k rows they found.

Index names are SQL identifiers checked here (`check_name`), and every source,
column or index name goes into SQL through `quote_ident`: a name is never pasted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from textlens.connectors.duckdb.quoting import quote_ident

if TYPE_CHECKING:
    import duckdb

SCHEMA = "textlens_index"
CATALOG = f"{SCHEMA}.catalog"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
#: Names the schema already uses for itself.
_RESERVED = {"catalog"}

CATALOG_DDL = f"""
CREATE TABLE IF NOT EXISTS {CATALOG} (
    name VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    id_column VARCHAR NOT NULL,
    text_column VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    dim INTEGER NOT NULL,
    vectors BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    refreshed_at TIMESTAMP NOT NULL,
    ann VARCHAR NOT NULL
)"""


def check_name(name: str) -> str:
    """`name` if it can name an index (letters, digits, `_`; 63 at most), else ValueError."""
    if not isinstance(name, str) or not _NAME.match(name) or "__" in name:
        raise ValueError(
            f"an index name is a SQL identifier (letters, digits and single _, at most 63), "
            f"not {name!r}"
        )
    if name.lower() in _RESERVED:
        raise ValueError(f"{name!r} is reserved by textlens; choose another index name")
    return name


def vectors_table(name: str) -> str:
    return f"{SCHEMA}.{quote_ident(name)}"


def texts_view(name: str) -> str:
    return f"{SCHEMA}.{quote_ident(name + '__texts')}"


def source_ref(source: str) -> str:
    """A table or view name (`table`, `schema.table` or `db.schema.table`), quoted part by part."""
    parts = source.split(".")
    if not source or len(parts) > 3 or any(not p for p in parts):
        raise ValueError(f"--table takes a table or view name, not {source!r}")
    return ".".join(quote_ident(p) for p in parts)


def qualified_source(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """`source` with its schema: the index's own objects live in `textlens_index`, where an
    unqualified name would find them first."""
    source_ref(source)  # checks the shape
    parts = source.split(".")
    if len(parts) == 1:
        found = con.execute("SELECT current_schema()").fetchall()
        parts = [str(found[0][0]), *parts]
    if parts[-2] == SCHEMA:
        raise ValueError(f"{source!r} is textlens' own index storage, not a table to index")
    return ".".join(parts)


@dataclass(frozen=True)
class IndexSpec:
    """One catalog row: what an index is over and what computed it."""

    name: str
    source: str
    id_column: str
    text_column: str
    model: str
    model_version: str
    dim: int
    vectors: int
    created_at: datetime
    refreshed_at: datetime
    #: Whether it keeps an HNSW graph: "auto" (from ANN_MIN_VECTORS vectors), "on", "off".
    ann: str = "auto"

    def source_rows_sql(self) -> str:
        """(id, text, text_hash) of the rows that should be indexed: no NULL id, no NULL or
        blank text."""
        text = quote_ident(self.text_column)
        ident = quote_ident(self.id_column)
        return (
            f"SELECT {ident} AS id, {text} AS text, md5_number({text}) AS text_hash "
            f"FROM {source_ref(self.source)} "
            f"WHERE {ident} IS NOT NULL AND {text} IS NOT NULL AND trim({text}) <> ''"
        )


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    con.execute(CATALOG_DDL)


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `textlens_index.<table>` exists in this database."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?"
        " AND database_name = current_database()",
        [SCHEMA, table],
    ).fetchall()
    return bool(found and found[0][0])


def has_catalog(con: duckdb.DuckDBPyConnection) -> bool:
    return has_table(con, "catalog")


def vector_matrix(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A FLOAT[dim] column read through Arrow as an (n, dim) float32 matrix."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if len(column) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    dim = column.type.list_size
    return np.asarray(column.flatten(), dtype=np.float32).reshape(-1, dim)


def read_spec(con: duckdb.DuckDBPyConnection, name: str) -> IndexSpec | None:
    """The catalog row of `name`, None when there is no such index."""
    if not has_catalog(con):
        return None
    rows = con.execute(f"SELECT * FROM {CATALOG} WHERE name = ?", [check_name(name)]).fetchall()
    return IndexSpec(*rows[0]) if rows else None


def all_specs(con: duckdb.DuckDBPyConnection) -> list[IndexSpec]:
    if not has_catalog(con):
        return []
    rows = con.execute(f"SELECT * FROM {CATALOG} ORDER BY name").fetchall()
    return [IndexSpec(*row) for row in rows]


def require_spec(con: duckdb.DuckDBPyConnection, name: str) -> IndexSpec:
    spec = read_spec(con, name)
    if spec is None:
        known = ", ".join(s.name for s in all_specs(con)) or "none"
        raise ValueError(
            f"no index named {name!r} in this database (indexes: {known}); "
            "create it with `textlens index create`"
        )
    return spec


def texts_view_sql(spec: IndexSpec) -> str:
    """The view the search macros join for the text of the rows they return."""
    return (
        f"CREATE OR REPLACE VIEW {texts_view(spec.name)} AS "
        f"SELECT {quote_ident(spec.id_column)} AS id, {quote_ident(spec.text_column)} AS text "
        f"FROM {source_ref(spec.source)}"
    )


def write_spec(con: duckdb.DuckDBPyConnection, spec: IndexSpec) -> None:
    con.execute(
        f"INSERT OR REPLACE INTO {CATALOG} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            spec.name,
            spec.source,
            spec.id_column,
            spec.text_column,
            spec.model,
            spec.model_version,
            spec.dim,
            spec.vectors,
            spec.created_at,
            spec.refreshed_at,
            spec.ann,
        ],
    )


def drop(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Drop index `name` in one transaction; False when there was none."""
    if read_spec(con, name) is None:
        return False
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DROP VIEW IF EXISTS {texts_view(name)}")
        con.execute(f"DROP TABLE IF EXISTS {vectors_table(name)}")
        for suffix in ("__ann_ids", "__ann"):
            con.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{quote_ident(name + suffix)}")
        con.execute(f"DELETE FROM {CATALOG} WHERE name = ?", [name])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True


__all__ = [
    "CATALOG",
    "SCHEMA",
    "IndexSpec",
    "all_specs",
    "check_name",
    "drop",
    "ensure_schema",
    "read_spec",
    "require_spec",
    "source_ref",
    "texts_view",
    "vectors_table",
]
