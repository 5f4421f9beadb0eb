"""The search functions in SQL: table macros over an index's vectors, exact (brute force).

    SELECT * FROM semantic_search('reviews', 'late delivery', 10)
    SELECT * FROM semantic_search('news', 'profit warning', 5,
                                  within := (SELECT list(id) FROM news WHERE ticker = 'NWM'))
    SELECT * FROM similar_to('reviews', 42, 10)
    SELECT * FROM recommend('products', [3, 17, 25], 10)
    SELECT * FROM near_duplicates('news', 0.9)

Why table macros: they compose with the rest of a query (joins, CTEs, a Superset
virtual dataset) and DuckDB runs the scoring itself, vectorised. A user's filter goes
in `within` (a list of ids, typically a `(SELECT list(id) ... WHERE ...)` subquery),
so the k rows are the best *within* the filtered rows, not a global top k filtered
afterwards. Ties are broken by id, so the answer is deterministic.

Documented edge cases (docs/search.md): a NULL or blank query, a NULL or unknown id,
an empty `liked` list, or `k` <= 0 or NULL give no rows; `within := []` gives no
rows; `within := NULL` (the default) searches every row.

`near_duplicates` needs every pair, which SQL would do row by row: it calls one
private Python UDF that reads the vectors and runs `dedupe.group_labels` in NumPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from textlens.connectors.duckdb.search.ann import ann_macro
from textlens.connectors.duckdb.search.catalog import (
    SCHEMA,
    check_name,
    vector_matrix,
    vectors_table,
)
from textlens.connectors.duckdb.search.dedupe import DEFAULT_THRESHOLD, check_threshold, groups

if TYPE_CHECKING:
    import duckdb

#: The search functions, in the order `register` creates them (docs list them so).
SEARCH_FUNCTIONS = (
    "semantic_search",
    "semantic_search_ann",
    "similar_to",
    "recommend",
    "near_duplicates",
)

_VECTORS = f"query_table('{SCHEMA}.' || index_name)"
_TEXTS = f"query_table('{SCHEMA}.' || index_name || '__texts')"
_K = "greatest(coalesce(k, 0), 0)"
_WITHIN = "(within IS NULL OR v.id IN (SELECT unnest(within)))"


def _ranked(top: str) -> str:
    """The k best of `top` (id, score), with each row's current text."""
    return (
        f"WITH top AS ({top} ORDER BY score DESC, id LIMIT {_K}) "
        f"SELECT top.id, t.text, top.score FROM top LEFT JOIN {_TEXTS} t ON t.id = top.id "
        f"ORDER BY top.score DESC, top.id"
    )


def macro_statements(
    prefix: str, embed: str | None, near_duplicates_udf: str, ann_udf: str | None
) -> list[str]:
    """CREATE TEMP MACRO statements for the search functions (`embed`: the private embed
    UDF, called with the index's model; None when no embedding model is served: no
    `semantic_search` or `semantic_search_ann`)."""
    out = []
    if embed is not None and ann_udf is not None:
        out.append(ann_macro(prefix, embed, ann_udf))
    if embed is not None:
        model = f"coalesce((SELECT model FROM {SCHEMA}.catalog WHERE name = index_name), '')"
        out.append(
            f"CREATE OR REPLACE TEMP MACRO {prefix}semantic_search"
            f"(index_name, query_text, k := 10, within := NULL) AS TABLE "
            + _ranked(
                f"SELECT v.id, array_cosine_similarity(v.vector, q.vec) AS score "
                f"FROM {_VECTORS} v, (SELECT {embed}(query_text, {model}) AS vec) q "
                f"WHERE q.vec IS NOT NULL AND trim(query_text) <> '' AND {_WITHIN}"
            )
        )
    out.append(
        f"CREATE OR REPLACE TEMP MACRO {prefix}similar_to"
        f"(index_name, item_id, k := 10, within := NULL) AS TABLE "
        + _ranked(
            f"SELECT v.id, array_cosine_similarity(v.vector, s.vector) AS score "
            f"FROM {_VECTORS} v, (SELECT vector FROM {_VECTORS} WHERE id = item_id) s "
            f"WHERE v.id <> item_id AND {_WITHIN}"
        )
    )
    out.append(
        f"CREATE OR REPLACE TEMP MACRO {prefix}recommend"
        f"(index_name, liked_ids, k := 10, within := NULL) AS TABLE "
        + _ranked(
            f"SELECT v.id, avg(array_cosine_similarity(v.vector, l.vector)) AS score "
            f"FROM {_VECTORS} v, (SELECT id, vector FROM {_VECTORS} "
            f"WHERE id IN (SELECT unnest(liked_ids))) l "
            f"WHERE v.id NOT IN (SELECT unnest(liked_ids)) AND {_WITHIN} GROUP BY v.id"
        )
    )
    out.append(
        f"CREATE OR REPLACE TEMP MACRO {prefix}near_duplicates"
        f"(index_name, threshold := {DEFAULT_THRESHOLD}) AS TABLE "
        f"SELECT d.group_id, v.id, t.text, d.group_size "
        f"FROM (SELECT unnest({near_duplicates_udf}(index_name, threshold), recursive := true)) d "
        f"JOIN {_VECTORS} v ON v.id::VARCHAR = d.id "
        f"LEFT JOIN {_TEXTS} t ON t.id = v.id ORDER BY d.group_id, d.member"
    )
    return out


def owned_search_macros(con: duckdb.DuckDBPyConnection, marker: str, names: list[str]) -> list[str]:
    """The search macros of `names` a registration may drop: all of them while its
    `near_duplicates` (which calls its private `marker` UDF) is still the connection's,
    none once a later registration replaced them."""
    if not names or not marker:
        return []
    found = dict(
        con.execute(
            "SELECT function_name, macro_definition FROM duckdb_functions() "
            "WHERE database_name = 'temp' AND function_type = 'table_macro'"
        ).fetchall()
    )
    near = next((n for n in names if n.endswith("near_duplicates")), "")
    if marker not in str(found.get(near, "")):
        return []
    return [n for n in names if n in found]


NEAR_DUPLICATES_TYPE = "STRUCT(group_id BIGINT, member BIGINT, id VARCHAR, group_size BIGINT)[]"


def near_duplicates_udf(con: duckdb.DuckDBPyConnection) -> Any:
    """The arrow UDF behind `near_duplicates`: (index name, threshold) -> its groups.

    It reads the vectors on its own cursor (a second connection to the same database),
    so it sees the index as last committed.
    """
    item = pa.struct(
        [
            ("group_id", pa.int64()),
            ("member", pa.int64()),
            ("id", pa.string()),
            ("group_size", pa.int64()),
        ]
    )

    def answer(name: str | None, threshold: float | None) -> list[dict[str, Any]] | None:
        if name is None or threshold is None:
            return None
        check_threshold(threshold)
        table = (
            con.cursor()
            .sql(
                f"SELECT v.id::VARCHAR AS id, v.text_hash, v.vector "
                f"FROM {vectors_table(check_name(name))} v ORDER BY v.id"
            )
            .to_arrow_table()
        )
        matrix = vector_matrix(table.column("vector"))
        found = groups(
            table.column("id").to_pylist(),
            matrix,
            threshold,
            keys=table.column("text_hash").to_pylist(),
        )
        return [
            {"group_id": g, "member": m, "id": ident, "group_size": len(members)}
            for g, members in enumerate(found, start=1)
            for m, ident in enumerate(members, start=1)
        ]

    def udf(names: pa.Array, thresholds: pa.Array) -> pa.Array:
        return pa.array(
            [answer(n, t) for n, t in zip(names.to_pylist(), thresholds.to_pylist(), strict=True)],
            type=pa.list_(item),
        )

    return udf
