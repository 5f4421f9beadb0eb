"""Create and refresh an index: embed only new or changed texts, then swap them in at once.

A refresh runs in two phases, so that a killed or failed one changes nothing:

1. **Compute** (long, outside any transaction): snapshot the source's (id, text hash)
   into a temp table, find the rows whose hash or model version the index lacks,
   embed them into another temp table, with a progress bar. Temp tables live in
   memory and die with the connection.
2. **Apply** (short, one transaction): delete the vectors whose row is gone, whose text
   changed or whose model version is old; insert the new ones; update the catalog. A
   process killed here leaves DuckDB's write-ahead log without a commit, and the
   previous index is what the file holds when it is opened again.

The embedding goes through the connection's own `embed()` (embedded or remote, with
its cache), or through a caller's `Embedder` (`textlens index refresh --ray`).
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from textlens.connectors.duckdb.interrupt import run_interruptibly
from textlens.connectors.duckdb.quoting import quote_ident, quote_literal
from textlens.connectors.duckdb.search import ann
from textlens.connectors.duckdb.search.catalog import (
    IndexSpec,
    check_name,
    ensure_schema,
    qualified_source,
    read_spec,
    require_spec,
    source_ref,
    texts_view_sql,
    vectors_table,
    write_spec,
)

if TYPE_CHECKING:
    import duckdb

    from textlens.connectors.duckdb.register import Registration

#: Rows sent to `embed()` per statement: one progress step, and a Ctrl-C point.
EMBED_STEP = 8192

#: (connection, temp table of (id, text), its row count, model) -> a temp table of
#: (id, vector) with one row per embedded text: how `--ray` plugs in.
Embedder = Callable[["duckdb.DuckDBPyConnection", str, int, str], str]


@dataclass(frozen=True)
class RefreshResult:
    """What one create or refresh did (counted, not estimated)."""

    name: str
    #: Texts embedded by this run (new, changed, or all of them on a rebuild).
    computed: int
    #: Vectors dropped: rows deleted upstream, texts changed or emptied, or an old model.
    removed: int
    #: Vectors in the index afterwards.
    vectors: int
    #: Rows of the source that are not indexed: NULL id, NULL or blank text.
    skipped: int
    #: Every vector was recomputed (a new index, or the model's version changed).
    rebuilt: bool
    seconds: float

    def summary(self) -> str:
        how = "built" if self.rebuilt else "refreshed"
        return (
            f"index {self.name} {how}: {self.computed:,} texts embedded, "
            f"{self.removed:,} vectors removed, {self.vectors:,} in the index "
            f"({self.skipped:,} rows without an id or text skipped) in {self.seconds:.1f} s"
        )


def _embed_model(registration: Registration, model: str) -> tuple[str, str, int]:
    """(model name, version, dim) of the embedding model `model` ("" = the default)."""
    info = registration.compute.resolver.resolve("embed", model)
    if info is None:
        served = [m.name for m in registration.models() if m.task == "embed"]
        if not served:
            raise ValueError("no embedding model is served, so no index can be built")
        raise ValueError(f"no embedding model named {model!r}; served: {', '.join(served)}")
    dim = registration.compute.embed_dim
    if dim and info.dim and info.dim != dim:
        raise ValueError(
            f"model {info.name!r} makes {info.dim}-dim vectors but embed() on this connection "
            f"returns FLOAT[{dim}]; index with the default embedding model or register "
            f"with models={{'embed': {info.name!r}}}"
        )
    return info.name, info.version, info.dim or dim or 0


def embed_function(registration: Registration) -> str | None:
    """The public name of `embed` on this registration (its prefix included), None when no
    embedding model is served."""
    return next((n for n, f in registration.functions.items() if f.task == "embed"), None)


def _embed_function(registration: Registration) -> str:
    name = embed_function(registration)
    if name is None:
        raise ValueError("no embedding model is served, so no index can be built")
    return name


def _check_source(con: duckdb.DuckDBPyConnection, spec: IndexSpec) -> None:
    """Clear errors for a missing table or column, and for ids that are not unique."""
    import duckdb

    try:
        columns = con.sql(f"SELECT * FROM {source_ref(spec.source)} LIMIT 0").columns
    except duckdb.CatalogException:
        raise ValueError(f"no table or view named {spec.source!r} in this database") from None
    for role, column in (("id", spec.id_column), ("text", spec.text_column)):
        if column not in columns:
            raise ValueError(
                f"{spec.source} has no column {column!r} for the {role} "
                f"(columns: {', '.join(columns)})"
            )
    duplicate = con.execute(
        f"SELECT {quote_ident(spec.id_column)}::VARCHAR FROM {source_ref(spec.source)} "
        f"WHERE {quote_ident(spec.id_column)} IS NOT NULL "
        f"GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    ).fetchall()
    if duplicate:
        raise ValueError(
            f"{spec.source}.{spec.id_column} is not unique (e.g. {duplicate[0][0]!r} repeats); "
            "an index needs one row per id"
        )


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    rows = con.execute(sql, params or []).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _embed_in_sql(registration: Registration, progress: bool) -> Embedder:
    """The default `Embedder`: the connection's `embed()`, EMBED_STEP rows a statement."""
    from tqdm import tqdm

    embed = _embed_function(registration)

    def run(con: duckdb.DuckDBPyConnection, todo: str, rows: int, model: str) -> str:
        out = f"{todo}_vectors"
        con.execute(
            f"CREATE TEMP TABLE {out} AS SELECT id, {embed}(text, {quote_literal(model)}) "
            f"AS vector FROM {todo} LIMIT 0"
        )
        with tqdm(total=rows, unit="row", desc="embed", disable=not progress) as bar:
            for start in range(0, rows, EMBED_STEP):
                step = (
                    f"INSERT INTO {out} SELECT id, {embed}(text, {quote_literal(model)}) "
                    f"FROM {todo} WHERE rowid >= {start} AND rowid < {start + EMBED_STEP}"
                )
                run_interruptibly(con, functools.partial(con.execute, step))
                bar.update(min(EMBED_STEP, rows - start))
        return out

    return run


def _apply(
    con: duckdb.DuckDBPyConnection,
    spec: IndexSpec,
    snapshot: str,
    vectors: str,
    create: bool,
) -> tuple[int, int]:
    gone = f"{snapshot}_gone"
    """Swap the new vectors in, in one transaction. Returns (removed, vectors after)."""
    table = vectors_table(spec.name)
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_schema(con)
        if create:
            con.execute(f"DROP TABLE IF EXISTS {table}")  # a replaced index: start afresh
            con.execute(
                f"CREATE TABLE {table} AS SELECT id, 0::UHUGEINT AS text_hash, "
                f"''::VARCHAR AS model_version, vector::FLOAT[{spec.dim}] AS vector "
                f"FROM {vectors} LIMIT 0"
            )
            con.execute(texts_view_sql(spec))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {gone} AS SELECT v.id FROM {table} v "
            f"WHERE v.model_version <> ? OR NOT EXISTS "
            f"(SELECT 1 FROM {snapshot} s WHERE s.id = v.id AND s.text_hash = v.text_hash)",
            [spec.model_version],
        )
        removed = _count(con, f"SELECT count(*) FROM {gone}")
        con.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM {gone})")
        con.execute(
            f"INSERT INTO {table} SELECT n.id, s.text_hash, ?, n.vector::FLOAT[{spec.dim}] "
            f"FROM {vectors} n JOIN {snapshot} s ON s.id = n.id WHERE n.vector IS NOT NULL",
            [spec.model_version],
        )
        after = _count(con, f"SELECT count(*) FROM {table}")
        if create:
            ann.rebuild(con, spec.name, spec.ann)
        else:
            ann.update(con, spec.name, spec.ann, gone, vectors)
        write_spec(con, replace(spec, vectors=after, refreshed_at=datetime.now()))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return removed, after


def _run(
    registration: Registration,
    spec: IndexSpec,
    *,
    create: bool,
    rebuild: bool,
    progress: bool,
    embedder: Embedder | None,
) -> RefreshResult:
    con = registration.con
    started = time.monotonic()
    _check_source(con, spec)
    token = secrets.token_hex(4)
    snapshot, todo = f"_textlens_snapshot_{token}", f"_textlens_todo_{token}"
    # The embedders' output, and _apply's removed ids: dropped whatever happens.
    temps = [snapshot, todo, f"{todo}_vectors", f"{snapshot}_gone"]
    try:
        con.execute(f"CREATE TEMP TABLE {snapshot} AS {spec.source_rows_sql()}")
        have = "" if create else vectors_table(spec.name)
        if have:
            con.execute(
                f"CREATE TEMP TABLE {todo} AS SELECT s.id, s.text FROM {snapshot} s "
                f"WHERE NOT EXISTS (SELECT 1 FROM {have} v WHERE v.id = s.id AND "
                f"v.text_hash = s.text_hash AND v.model_version = ?) ORDER BY s.id",
                [spec.model_version],
            )
        else:
            con.execute(f"CREATE TEMP TABLE {todo} AS SELECT id, text FROM {snapshot} ORDER BY id")
        rows = _count(con, f"SELECT count(*) FROM {todo}")
        source_rows = _count(con, f"SELECT count(*) FROM {source_ref(spec.source)}")
        snapshot_rows = _count(con, f"SELECT count(*) FROM {snapshot}")
        run = embedder or _embed_in_sql(registration, progress)
        vectors = run(con, todo, rows, spec.model)
        if vectors not in temps:
            temps.append(vectors)
        removed, after = _apply(con, spec, snapshot, vectors, create)
    finally:
        for name in temps:
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return RefreshResult(
        spec.name,
        computed=rows,
        removed=removed,
        vectors=after,
        skipped=source_rows - snapshot_rows,
        rebuilt=create or rebuild,
        seconds=time.monotonic() - started,
    )


def create_index(
    registration: Registration,
    name: str,
    table: str,
    id_column: str,
    text_column: str,
    *,
    model: str = "",
    ann_mode: str = "auto",
    replace_existing: bool = False,
    progress: bool = True,
    embedder: Embedder | None = None,
) -> RefreshResult:
    """Index `table.text_column` by `id_column` under `name`, embedding every text once.

    `ann_mode`: "auto" keeps an HNSW graph for `semantic_search_ann` from
    `ann.ANN_MIN_VECTORS` vectors on, "on" always, "off" never (exact scans).
    """
    con = registration.con
    check_name(name)
    ann.check_mode(ann_mode)
    if read_spec(con, name) is not None and not replace_existing:
        raise ValueError(f"an index named {name!r} exists; refresh it, or pass --replace")
    model_name, version, dim = _embed_model(registration, model)
    now = datetime.now()
    source = qualified_source(con, table)
    spec = IndexSpec(
        name, source, id_column, text_column, model_name, version, dim, 0, now, now, ann_mode
    )
    return _run(registration, spec, create=True, rebuild=True, progress=progress, embedder=embedder)


def refresh_index(
    registration: Registration,
    name: str,
    *,
    progress: bool = True,
    embedder: Embedder | None = None,
) -> RefreshResult:
    """Bring index `name` in step with its table: embed new or changed texts only, drop
    deleted rows, and re-embed everything when the model's version changed."""
    spec = require_spec(registration.con, name)
    model_name, version, dim = _embed_model(registration, spec.model)
    if dim != spec.dim:
        raise ValueError(
            f"index {name!r} holds {spec.dim}-dim vectors and model {model_name!r} now makes "
            f"{dim}-dim ones; recreate it with `textlens index create --replace`"
        )
    current = replace(spec, model=model_name, model_version=version)
    return _run(
        registration,
        current,
        create=False,
        rebuild=version != spec.model_version,
        progress=progress,
        embedder=embedder,
    )
