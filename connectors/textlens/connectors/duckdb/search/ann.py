"""Approximate nearest neighbours beside an index, for tables where a full scan gets slow.

Library: usearch (HNSW), chosen by `bench/search.py` (docs/search.md, "Approximate
search"). Among the PyPI libraries that install offline (DuckDB's own `vss` extension
downloads from extensions.duckdb.org, which this network cannot reach; hnswlib ships
only a source archive), it keeps recall@10 at 1.00 on real review vectors with f16
storage (half the memory of faiss' HNSWFlat at equal recall), it serialises to bytes,
and its wheel is 2 MB against faiss' 18 MB. It is the engine inside `vss` too.

Storage, all in the warehouse file and replaced in the refresh's transaction:

* `textlens_index."<name>__ann_ids"`: (key BIGINT, id): the HNSW key of every vector.
  It always exists, so `semantic_search_ann` can be called on any index.
* `textlens_index."<name>__ann"`: (part, data BLOB): the serialised HNSW graph, cut in
  parts; absent when the index is too small to need one (`ANN_MIN_VECTORS`, or
  `ann='off'`). Then `semantic_search_ann` scans the vectors exactly, in NumPy.

The graph is rebuilt from the vectors at every refresh that changed them (6.7 s per
100k vectors on 2 cores): simpler than patching it, and all or nothing with the rest.
"""

from __future__ import annotations

import json
import threading
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from textlens.connectors.duckdb.search.catalog import (
    SCHEMA,
    check_name,
    has_table,
    vector_matrix,
    vectors_table,
)

if TYPE_CHECKING:
    import duckdb

#: With `ann='auto'` (the default), an index of at least this many vectors keeps an HNSW
#: graph: at 100k vectors an exact scan takes about 57 ms a query (docs/search.md).
ANN_MIN_VECTORS = 100_000
ANN_MODES = ("auto", "on", "off")
#: HNSW links per node and the candidate list while building (usearch's defaults are 16
#: and 128); f16 storage: recall@10 1.00 at 100k, half the bytes of f32.
CONNECTIVITY, EXPANSION_ADD, STORAGE = 16, 128, "f16"
#: Candidates kept while searching, by default. Queries like the indexed texts find the
#: exact top 10 from ef 64 on; short phrases over long reviews need a wider search
#: (recall@10 0.74 at 128, 0.97 at 512, 0.985 at 1024: docs/search.md), and 1024 costs
#: about a millisecond, next to the 7 ms the SQL around it takes.
DEFAULT_EF = 1024
PART_BYTES = 256 * 2**20
#: The graph table's row that holds the next free key and the removals since the build.
META_PART = -1
#: Rebuild the graph once removals since its build pass this share of the vectors.
REBUILD_SHARE = 0.2

ANN_HIT = pa.struct([("key", pa.int64()), ("score", pa.float64())])
ANN_HITS_TYPE = "STRUCT(key BIGINT, score DOUBLE)[]"


def ids_table(name: str) -> str:
    return f'{SCHEMA}."{check_name(name)}__ann_ids"'


def graph_table(name: str) -> str:
    return f'{SCHEMA}."{check_name(name)}__ann"'


def check_mode(mode: str) -> str:
    if mode not in ANN_MODES:
        raise ValueError(f"ann is one of {', '.join(ANN_MODES)}, not {mode!r}")
    return mode


def _matrix(con: duckdb.DuckDBPyConnection, name: str) -> np.ndarray:
    table = con.sql(f"SELECT vector FROM {vectors_table(name)} ORDER BY id").to_arrow_table()
    return vector_matrix(table.column(0))


def _wanted(mode: str, count: int) -> bool:
    return count > 0 and (mode == "on" or (mode == "auto" and count >= ANN_MIN_VECTORS))


def _index_class(name: str, mode: str, count: int) -> Any:
    """usearch's Index, or None when it is not installed and the graph is optional."""
    try:
        from usearch.index import Index
    except ImportError:
        if mode == "on":
            raise ValueError(
                "ann='on' needs usearch: pip install 'textlens[search]' (usearch==2.26.6)"
            ) from None
        warnings.warn(
            f"index {name!r} has {count:,} vectors, enough for an HNSW graph, but usearch is "
            "not installed (pip install 'textlens[search]'); searches scan every vector",
            stacklevel=3,
        )
        return None
    return Index


def _write_graph(
    con: duckdb.DuckDBPyConnection, name: str, index: Any, meta: dict[str, int]
) -> None:
    saved = index.save()  # no path: the serialised graph
    if saved is None:
        raise RuntimeError("usearch returned no serialised graph")
    data = bytes(saved)
    con.execute(f"DROP TABLE IF EXISTS {graph_table(name)}")
    con.execute(f"CREATE TABLE {graph_table(name)} (part INTEGER, data BLOB)")
    rows = [(i, data[at : at + PART_BYTES]) for i, at in enumerate(range(0, len(data), PART_BYTES))]
    rows.append((META_PART, json.dumps(meta).encode()))
    con.executemany(f"INSERT INTO {graph_table(name)} VALUES (?, ?)", rows)


def _read_graph(con: duckdb.DuckDBPyConnection, name: str) -> tuple[Any, dict[str, int]]:
    from usearch.index import Index

    parts = con.execute(f"SELECT part, data FROM {graph_table(name)} ORDER BY part").fetchall()
    meta: dict[str, int] = next((json.loads(bytes(d)) for p, d in parts if p == META_PART), {})
    data = b"".join(bytes(d) for p, d in parts if p != META_PART)
    return Index.restore(bytearray(data)), meta


def rebuild(con: duckdb.DuckDBPyConnection, name: str, mode: str) -> bool:
    """Replace the index's key map and HNSW graph (inside the caller's transaction).
    Returns whether a graph was built."""
    con.execute(f"DROP TABLE IF EXISTS {ids_table(name)}")
    con.execute(f"DROP TABLE IF EXISTS {graph_table(name)}")
    con.execute(
        f"CREATE TABLE {ids_table(name)} AS SELECT (row_number() OVER (ORDER BY id) - 1)::BIGINT "
        f"AS key, id FROM {vectors_table(name)} ORDER BY id"
    )
    count = con.execute(f"SELECT count(*) FROM {ids_table(name)}").fetchall()[0][0]
    if not _wanted(mode, count):
        return False
    index_class = _index_class(name, mode, count)
    if index_class is None:
        return False
    matrix = _matrix(con, name)
    index = index_class(
        ndim=matrix.shape[1],
        metric="cos",
        dtype=STORAGE,
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
    )
    index.add(np.arange(len(matrix), dtype=np.int64), matrix, log=False, threads=0)
    _write_graph(con, name, index, {"next_key": len(matrix), "removed": 0})
    return True


def update(con: duckdb.DuckDBPyConnection, name: str, mode: str, gone: str, added: str) -> str:
    """Bring the key map and graph in step after a refresh removed the ids of temp table
    `gone` and inserted those of `added` (inside the caller's transaction).

    Incremental: removed keys are deleted from the graph, new vectors added under new keys
    (never reused), so a refresh of 1% of a large table costs 1% of a build plus reading and
    writing the graph. Rebuilt instead when there is no key map yet, when whether a graph
    is wanted changed, or once removals since the last build pass `REBUILD_SHARE` (HNSW
    keeps removed nodes as tombstones, and recall slowly drops). Returns "rebuilt",
    "updated" or "unchanged".
    """
    added = f"(SELECT id, vector FROM {added} WHERE vector IS NOT NULL)"
    count = con.execute(f"SELECT count(*) FROM {vectors_table(name)}").fetchall()[0][0]
    has_map = has_table(con, f"{name}__ann_ids")
    has_graph = has_table(con, f"{name}__ann")
    if not has_map or _wanted(mode, count) != has_graph:
        rebuild(con, name, mode)
        return "rebuilt"
    gone_keys = [
        int(k)
        for (k,) in con.execute(
            f"SELECT key FROM {ids_table(name)} WHERE id IN (SELECT id FROM {gone})"
        ).fetchall()
    ]
    added_rows = con.execute(f"SELECT count(*) FROM {added}").fetchall()[0][0]
    if not gone_keys and not added_rows:
        return "unchanged"
    meta: dict[str, int] = {}
    index = None
    if has_graph:
        index, meta = _read_graph(con, name)
        if meta.get("removed", 0) + len(gone_keys) > REBUILD_SHARE * max(count, 1):
            rebuild(con, name, mode)
            return "rebuilt"
    found = con.execute(f"SELECT max(key) FROM {ids_table(name)}").fetchall()[0][0]
    next_key = max(int(meta.get("next_key", 0)), int(found if found is not None else -1) + 1)
    con.execute(f"DELETE FROM {ids_table(name)} WHERE id IN (SELECT id FROM {gone})")
    con.execute(
        f"INSERT INTO {ids_table(name)} SELECT ({next_key} + row_number() OVER (ORDER BY id) "
        f"- 1)::BIGINT, id FROM {added}"
    )
    if index is not None:
        if gone_keys:
            index.remove(np.asarray(gone_keys, dtype=np.int64))
        table = con.sql(
            f"SELECT m.key, a.vector FROM {added} AS a JOIN {ids_table(name)} m ON m.id = a.id "
            "ORDER BY m.key"
        ).to_arrow_table()
        if table.num_rows:
            matrix = vector_matrix(table.column("vector"))
            keys = np.asarray(table.column("key").to_pylist(), dtype=np.int64)
            index.add(keys, matrix, log=False, threads=0)
        meta = {
            "next_key": next_key + added_rows,
            "removed": meta.get("removed", 0) + len(gone_keys),
        }
        _write_graph(con, name, index, meta)
    return "updated"


def drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"DROP TABLE IF EXISTS {ids_table(name)}")
    con.execute(f"DROP TABLE IF EXISTS {graph_table(name)}")


class AnnSearcher:
    """The `semantic_search_ann` UDF's state: each index's graph (or exact matrix), loaded
    once per refresh and kept in memory. One per registration, never shared."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[object, Any]] = {}

    def _load(self, name: str) -> Any:
        cursor = self._con.cursor()
        stamp = cursor.execute(
            f"SELECT refreshed_at FROM {SCHEMA}.catalog WHERE name = ?", [name]
        ).fetchall()
        if not stamp:
            raise ValueError(f"no index named {name!r}; create it with `textlens index create`")
        with self._lock:
            cached = self._loaded.get(name)
            if cached is not None and cached[0] == stamp[0][0]:
                return cached[1]
        if has_table(cursor, f"{name}__ann"):
            loaded: Any = _read_graph(cursor, name)[0]
        else:
            loaded = _matrix(cursor, name)
        with self._lock:
            self._loaded[name] = (stamp[0][0], loaded)
        return loaded

    def search(self, name: str, query: np.ndarray, k: int, ef: int) -> list[dict[str, Any]]:
        if k <= 0:
            return []
        if ef < 1:
            raise ValueError(f"ef is the HNSW search breadth, a positive number, not {ef}")
        loaded = self._load(check_name(name))
        if isinstance(loaded, np.ndarray):  # no graph: an exact scan
            if len(loaded) == 0:
                return []
            scores = (loaded @ query) / (np.linalg.norm(loaded, axis=1) * np.linalg.norm(query))
            top = np.argsort(-scores, kind="stable")[:k]
            return [{"key": int(i), "score": float(scores[i])} for i in top]
        loaded.expansion_search = max(ef, k)
        found = loaded.search(query, k)
        return [
            {"key": int(key), "score": 1.0 - float(distance)}
            for key, distance in zip(found.keys, found.distances, strict=True)
        ]

    def udf(self) -> Any:
        """(index name, query vector, k, ef) -> [(key, score)], NULL for NULL inputs."""

        def run(names: pa.Array, vectors: pa.Array, ks: pa.Array, efs: pa.Array) -> pa.Array:
            out: list[list[dict[str, Any]] | None] = []
            for name, vector, k, ef in zip(
                names.to_pylist(), vectors.to_pylist(), ks.to_pylist(), efs.to_pylist(),
                strict=True,
            ):  # fmt: skip
                if name is None or vector is None or k is None:
                    out.append(None)
                    continue
                query = np.asarray(vector, dtype=np.float32)
                out.append(self.search(name, query, int(k), int(ef or DEFAULT_EF)))
            return pa.array(out, type=pa.list_(ANN_HIT))

        return run


def ann_macro(prefix: str, embed: str, udf: str) -> str:
    """`semantic_search_ann(index, query_text, k := 10, ef := 1024)`: the HNSW candidates,
    re-scored exactly against the float32 vectors.

    A `query_table` comes first in every FROM: DuckDB binds a macro's body when it is
    created, up to the first table it cannot resolve yet, and `textlens_index.catalog`
    may not exist at registration (it is created with the first index).
    """
    model = f"coalesce((SELECT model FROM {SCHEMA}.catalog WHERE name = index_name), '')"
    vectors = f"query_table('{SCHEMA}.' || index_name)"
    ids = f"query_table('{SCHEMA}.' || index_name || '__ann_ids')"
    texts = f"query_table('{SCHEMA}.' || index_name || '__texts')"
    query = f"(SELECT {embed}(query_text, {model}) AS vec WHERE trim(query_text) <> '') q"
    hits = (
        f"(SELECT unnest({udf}(index_name, q.vec::FLOAT[], greatest(coalesce(k, 0), 0), ef), "
        f"recursive := true) FROM {query} WHERE q.vec IS NOT NULL) hits"
    )
    return (
        f"CREATE OR REPLACE TEMP MACRO {prefix}semantic_search_ann"
        f"(index_name, query_text, k := 10, ef := {DEFAULT_EF}) AS TABLE "
        f"SELECT top.id, t.text, top.score FROM ("
        f"SELECT m.id, array_cosine_similarity(v.vector, q.vec) AS score "
        f"FROM {ids} m JOIN {hits} ON m.key = hits.key JOIN {vectors} v ON v.id = m.id, "
        f"{query}) top LEFT JOIN {texts} t ON t.id = top.id "
        f"ORDER BY top.score DESC, top.id"
    )


__all__ = ["ANN_MIN_VECTORS", "DEFAULT_EF", "AnnSearcher", "ann_macro"]
