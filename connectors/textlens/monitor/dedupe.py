"""`textlens monitor --dedupe THRESHOLD`: a story syndicated thirty times counts once.

Within each window and group (the same `--by` values and topic), rows whose texts are
near-copies (embedding cosine >= THRESHOLD, transitively; identical texts always) are
one story. The story is counted once, by its **most negative** copy (negative label
first, then the lowest sentiment score, then the earliest), so folding never hides a
negative story behind a neutral copy of it. The other copies stay in `scores.parquet`
with `copies = 0`; the kept row carries how many rows it stands for. Windows and
alerts report `folded`: the copies left out of their counts.

Copies are only looked for inside one window and group: the same headline a week later,
or about another ticker, is news of its own there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from textlens.connectors.duckdb.quoting import quote_ident
from textlens.connectors.duckdb.search.dedupe import group_labels
from textlens.connectors.duckdb.search.refresh import embed_function
from textlens.monitor.spec import MonitorSpec
from textlens.monitor.spikes import bucket_sql

if TYPE_CHECKING:
    import duckdb

    from textlens.connectors.duckdb.register import Registration


def add_copies_column(con: duckdb.DuckDBPyConnection) -> None:
    """Every row counts as itself (no --dedupe): `copies = 1`."""
    con.execute("ALTER TABLE scored ADD COLUMN copies INTEGER DEFAULT 1")


def fold_near_copies(
    con: duckdb.DuckDBPyConnection, spec: MonitorSpec, registration: Registration
) -> int:
    """Set `scored.copies`: rows a kept row stands for, 0 on the copies folded into it.
    Returns how many rows were folded."""
    assert spec.dedupe is not None
    embed = embed_function(registration)
    if embed is None:
        raise ValueError("--dedupe compares embeddings, and no embedding model is served")
    add_copies_column(con)
    keys = [bucket_sql(spec, "ts"), *(quote_ident(d) for d in spec.dimensions)]
    partition = " || chr(31) || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in keys)
    con.execute(
        "CREATE TEMP TABLE textlens_story_texts AS SELECT text_key, any_value(text) AS text "
        "FROM (SELECT md5(text) AS text_key, text FROM scored) GROUP BY text_key"
    )
    con.execute(
        f"CREATE TEMP TABLE textlens_story_vectors AS SELECT text_key, {embed}(text) AS v "
        "FROM textlens_story_texts"
    )
    rows = con.execute(
        f"SELECT s.rowid, {partition} AS part, md5(s.text) AS text_key, "
        "coalesce(s.sentiment = 'negative', false) AS negative, s.sentiment_score, s.ts, s.text "
        "FROM scored s ORDER BY part, s.ts, s.text"
    ).fetchall()
    vectors = dict(con.execute("SELECT text_key, v FROM textlens_story_vectors").fetchall())
    con.execute("DROP TABLE textlens_story_texts")
    con.execute("DROP TABLE textlens_story_vectors")
    counts: dict[int, int] = {}
    start = 0
    while start < len(rows):
        end = start
        while end < len(rows) and rows[end][1] == rows[start][1]:
            end += 1
        counts.update(_fold(rows[start:end], vectors, spec.dedupe))
        start = end
    folded = sum(1 for c in counts.values() if c == 0)
    if folded:
        con.execute("CREATE TEMP TABLE textlens_copies (rid BIGINT, copies INTEGER)")
        con.executemany(
            "INSERT INTO textlens_copies VALUES (?, ?)",
            [(rid, c) for rid, c in counts.items() if c != 1],
        )
        con.execute(
            "UPDATE scored SET copies = c.copies FROM textlens_copies c WHERE scored.rowid = c.rid"
        )
        con.execute("DROP TABLE textlens_copies")
    return folded


def _fold(
    rows: list[tuple[object, ...]], vectors: dict[object, object], threshold: float
) -> dict[int, int]:
    """rowid -> copies for the rows of one window and group."""
    if len(rows) == 1:
        return {int(rows[0][0]): 1}  # type: ignore[call-overload]
    matrix = np.asarray([vectors[r[2]] for r in rows], dtype=np.float32)
    labels = group_labels(matrix, threshold, keys=[r[2] for r in rows])
    members: dict[int, list[tuple[object, ...]]] = {}
    for label, row in zip(labels.tolist(), rows, strict=True):
        members.setdefault(label, []).append(row)
    out: dict[int, int] = {}
    for group in members.values():
        kept = min(group, key=_most_negative_first)
        for row in group:
            out[int(row[0])] = len(group) if row is kept else 0  # type: ignore[call-overload]
    return out


def _most_negative_first(row: tuple[object, ...]) -> tuple[object, ...]:
    _, _, _, negative, score, ts, text = row
    return (not negative, score if score is not None else float("inf"), ts, text)
