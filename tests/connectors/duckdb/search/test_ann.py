"""semantic_search_ann: an HNSW graph (usearch) beside the index, rebuilt with it, its
candidates re-scored exactly; without a graph it scans exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from textlens.connectors.duckdb.search import create_index, refresh_index
from textlens.samples.reviews import review_texts

duckdb = pytest.importorskip("duckdb")
pytest.importorskip("usearch", reason="the HNSW graph needs the `search` extra")

QUERIES = ["battery died", "great screen and fast", "terrible support", "love it", "broken"]


def table(con: Any, rows: int = 300) -> None:
    con.execute("CREATE TABLE reviews(id INTEGER, review VARCHAR)")
    con.executemany(
        "INSERT INTO reviews VALUES (?, ?)", list(enumerate(review_texts(rows, seed=8)))
    )


def graph_exists(con: Any, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'textlens_index' "
            "AND table_name = ?",
            [f"{name}__ann"],
        ).fetchall()[0][0]
    )


def compare(con: Any, name: str, k: int = 10) -> float:
    """Recall@k of semantic_search_ann against semantic_search; asserts exact scores."""
    hits = 0
    for query in QUERIES:
        exact = con.execute(f"SELECT * FROM semantic_search('{name}', ?, {k})", [query]).fetchall()
        approx = con.execute(
            f"SELECT * FROM semantic_search_ann('{name}', ?, {k})", [query]
        ).fetchall()
        scores = {row[0]: row[2] for row in exact}
        assert len(approx) == k
        for ident, _text, score in approx:
            if ident in scores:
                assert score == pytest.approx(scores[ident], abs=1e-6)
        hits += len({r[0] for r in approx} & set(scores))
        assert [r[2] for r in approx] == sorted((r[2] for r in approx), reverse=True)
    return hits / (k * len(QUERIES))


@pytest.mark.parametrize("mode", ["embedded", "remote"])
def test_the_graph_finds_what_the_exact_scan_finds(
    mode: str, registered: Callable[..., Any]
) -> None:
    con, reg = registered(mode)
    table(con)
    create_index(reg, "g", "reviews", "id", "review", ann_mode="on", progress=False)
    create_index(reg, "x", "reviews", "id", "review", ann_mode="off", progress=False)
    create_index(reg, "a", "reviews", "id", "review", progress=False)  # auto: too small
    assert graph_exists(con, "g") and not graph_exists(con, "x") and not graph_exists(con, "a")
    assert compare(con, "g") >= 0.95
    assert compare(con, "x") == 1.0  # no graph: an exact scan, the same rows
    assert compare(con, "a") == 1.0


def test_a_refresh_rebuilds_the_graph_and_searches_see_it(
    registered: Callable[..., Any],
) -> None:
    con, reg = registered("embedded")
    table(con)
    create_index(reg, "g", "reviews", "id", "review", ann_mode="on", progress=False)
    before = con.execute("SELECT * FROM semantic_search_ann('g', 'zebra quantum', 1)").fetchall()
    con.execute("INSERT INTO reviews VALUES (999, 'zebra quantum')")
    con.execute("DELETE FROM reviews WHERE id = ?", [before[0][0]])
    refresh_index(reg, "g", progress=False)
    after = con.execute("SELECT * FROM semantic_search_ann('g', 'zebra quantum', 3)").fetchall()
    assert after[0][:2] == (999, "zebra quantum") and after[0][2] == pytest.approx(1.0, abs=1e-5)
    assert before[0][0] not in [r[0] for r in after]
    keys = con.execute('SELECT count(*), max(key) FROM textlens_index."g__ann_ids"').fetchall()
    assert keys == [(300, 300)]  # updated in place: the new row got a new key, none reused
    assert compare(con, "g") >= 0.95

    # A third of the rows changed: past REBUILD_SHARE, the graph is built afresh.
    con.execute("UPDATE reviews SET review = review || ' again' WHERE id % 3 = 0")
    refresh_index(reg, "g", progress=False)
    keys = con.execute('SELECT count(*), max(key) FROM textlens_index."g__ann_ids"').fetchall()
    assert keys == [(300, 299)]
    assert compare(con, "g") >= 0.95


def test_edge_cases(registered: Callable[..., Any]) -> None:
    con, reg = registered("embedded")
    table(con, 40)
    with pytest.raises(ValueError, match="ann is one of auto, on, off"):
        create_index(reg, "g", "reviews", "id", "review", ann_mode="fast", progress=False)
    create_index(reg, "g", "reviews", "id", "review", ann_mode="on", progress=False)

    def rows(sql: str) -> list[Any]:
        return list(con.execute(sql).fetchall())

    assert rows("SELECT * FROM semantic_search_ann('g', NULL, 5)") == []
    assert rows("SELECT * FROM semantic_search_ann('g', '  ', 5)") == []
    assert rows("SELECT * FROM semantic_search_ann('g', 'screen', 0)") == []
    assert rows("SELECT * FROM semantic_search_ann('g', 'screen', NULL)") == []
    assert len(rows("SELECT * FROM semantic_search_ann('g', 'screen', 100)")) == 40
    with pytest.raises(duckdb.Error, match="ef is the HNSW search breadth"):
        rows("SELECT * FROM semantic_search_ann('g', 'screen', 5, ef := -1)")
