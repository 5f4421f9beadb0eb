"""semantic_search, similar_to, recommend and near_duplicates return exactly what a NumPy
brute force over the same vectors returns, inside a user's filter too; NULL, blank,
unknown-id and k edge cases give their documented answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from textlens.connectors.duckdb.search import create_index, groups
from textlens.samples.reviews import review_texts

duckdb = pytest.importorskip("duckdb")

QUERIES = ["battery died fast", "great screen", "the film was boring", "x"]


@pytest.fixture(params=["embedded", "remote"])
def indexed(request: pytest.FixtureRequest, registered: Callable[..., Any]) -> Any:
    """A connection with `reviews(id, review, product)` (80 rows, 4 exact copies, a NULL)
    indexed as 'rev'."""
    con, reg = registered(request.param)
    texts: list[str | None] = list(review_texts(76, seed=5))
    texts += [texts[10], texts[10], texts[20], None]  # copies of rows 10 and 20
    con.execute("CREATE TABLE reviews(id BIGINT, review VARCHAR, product VARCHAR)")
    con.executemany(
        "INSERT INTO reviews VALUES (?, ?, ?)",
        [(1000 - 7 * i, t, ["phone", "laptop", "tv"][i % 3]) for i, t in enumerate(texts)],
    )
    create_index(reg, "rev", "reviews", "id", "review", progress=False)
    return con


def index_vectors(con: Any) -> tuple[np.ndarray, np.ndarray]:
    rows = con.execute('SELECT id, vector FROM textlens_index."rev"').fetchall()
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows], dtype=np.float32)


def cosine(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    return (matrix @ vector) / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(vector))


def reference_top(
    ids: np.ndarray, scores: np.ndarray, k: int, allowed: Sequence[int] | None = None
) -> list[tuple[int, float]]:
    keep = [i for i in range(len(ids)) if allowed is None or int(ids[i]) in set(allowed)]
    ranked = sorted(keep, key=lambda i: (-float(scores[i]), int(ids[i])))[:k]
    return [(int(ids[i]), float(scores[i])) for i in ranked]


def assert_same(found: list[tuple[Any, ...]], expected: list[tuple[int, float]]) -> None:
    assert [r[0] for r in found] == [e[0] for e in expected]
    np.testing.assert_allclose([r[-1] for r in found], [e[1] for e in expected], atol=2e-6)


def texts_of(con: Any, found: list[tuple[Any, ...]]) -> list[str]:
    by_id = dict(con.execute("SELECT id, review FROM reviews").fetchall())
    return [by_id[r[0]] for r in found]


def test_semantic_search_equals_numpy_inside_and_outside_a_filter(indexed: Any) -> None:
    con = indexed
    ids, matrix = index_vectors(con)
    laptops = [
        r[0] for r in con.execute("SELECT id FROM reviews WHERE product = 'laptop'").fetchall()
    ]
    for query in QUERIES:
        q = np.asarray(con.execute("SELECT embed(?)", [query]).fetchall()[0][0], np.float32)
        scores = cosine(matrix, q)
        found = con.execute("SELECT * FROM semantic_search('rev', ?, 7)", [query]).fetchall()
        assert_same(found, reference_top(ids, scores, 7))
        assert [r[1] for r in found] == texts_of(con, found)
        inside = con.execute(
            "SELECT * FROM semantic_search('rev', ?, 5, "
            "within := (SELECT list(id) FROM reviews WHERE product = 'laptop'))",
            [query],
        ).fetchall()
        assert_same(inside, reference_top(ids, scores, 5, laptops))
    # It composes: a join back to the source, and a CTE over the result.
    joined = con.execute(
        "SELECT r.product, s.score FROM semantic_search('rev', 'great screen', 3) s "
        "JOIN reviews r USING (id) ORDER BY s.score DESC"
    ).fetchall()
    assert len(joined) == 3 and joined[0][1] >= joined[-1][1]


def test_similar_to_and_recommend_equal_numpy(indexed: Any) -> None:
    con = indexed
    ids, matrix = index_vectors(con)
    by_id = {int(i): v for i, v in zip(ids, matrix, strict=True)}
    seed = int(ids[3])
    found = con.execute("SELECT * FROM similar_to('rev', ?, 6)", [seed]).fetchall()
    others = [int(i) for i in ids if int(i) != seed]
    assert_same(found, reference_top(ids, cosine(matrix, by_id[seed]), 6, others))

    liked = [int(ids[1]), int(ids[4]), int(ids[9])]
    mean = np.mean([cosine(matrix, by_id[i]) for i in liked], axis=0)
    rest = [int(i) for i in ids if int(i) not in liked]
    found = con.execute("SELECT * FROM recommend('rev', ?, 8)", [liked]).fetchall()
    assert_same(found, reference_top(ids, mean, 8, rest))
    phones = [
        r[0] for r in con.execute("SELECT id FROM reviews WHERE product = 'phone'").fetchall()
    ]
    found = con.execute(
        "SELECT * FROM recommend('rev', ?, 4, "
        "within := (SELECT list(id) FROM reviews WHERE product = 'phone'))",
        [liked],
    ).fetchall()
    assert_same(found, reference_top(ids, mean, 4, [i for i in rest if i in phones]))
    # Unknown liked ids are ignored; the known ones still recommend.
    found = con.execute("SELECT * FROM recommend('rev', ?, 8)", [[*liked, -5]]).fetchall()
    assert_same(found, reference_top(ids, mean, 8, rest))


def test_near_duplicates_equal_numpy_groups(indexed: Any) -> None:
    con = indexed
    ids, matrix = index_vectors(con)
    hashes = [r[0] for r in con.execute('SELECT text_hash FROM textlens_index."rev"').fetchall()]
    order = np.argsort(ids)
    for threshold in (0.999, 0.9):
        found = con.execute("SELECT * FROM near_duplicates('rev', ?)", [threshold]).fetchall()
        expected = groups(
            [int(i) for i in ids[order]], matrix[order], threshold, [hashes[i] for i in order]
        )
        got: dict[int, list[int]] = {}
        for group_id, ident, _text, size in found:
            got.setdefault(group_id, []).append(ident)
            assert size == len(expected[group_id - 1])
        assert list(got.values()) == expected
    exact = con.execute("SELECT * FROM near_duplicates('rev', 1.0)").fetchall()
    copies = {g: [r[1] for r in exact if r[0] == g] for g in {r[0] for r in exact}}
    texts = {r[1]: r[2] for r in exact}
    assert len(copies) == 2 and sorted(len(c) for c in copies.values()) == [2, 3]
    for members in copies.values():
        assert len({texts[m] for m in members}) == 1


def test_edge_cases_give_documented_answers(indexed: Any) -> None:
    con = indexed

    def rows(sql: str, *params: Any) -> list[Any]:
        return list(con.execute(sql, list(params)).fetchall())

    assert rows("SELECT * FROM semantic_search('rev', NULL, 5)") == []
    assert rows("SELECT * FROM semantic_search('rev', '   ', 5)") == []
    assert rows("SELECT * FROM semantic_search('rev', 'screen', 0)") == []
    assert rows("SELECT * FROM semantic_search('rev', 'screen', NULL)") == []
    assert rows("SELECT * FROM semantic_search('rev', 'screen', -3)") == []
    assert len(rows("SELECT * FROM semantic_search('rev', 'screen', 10000)")) == 79
    assert rows("SELECT * FROM semantic_search('rev', 'screen', 5, within := [])") == []
    assert rows("SELECT * FROM similar_to('rev', -1, 5)") == []
    assert rows("SELECT * FROM similar_to('rev', NULL, 5)") == []
    assert rows("SELECT * FROM recommend('rev', [], 5)") == []
    assert rows("SELECT * FROM recommend('rev', NULL, 5)") == []
    assert rows("SELECT * FROM recommend('rev', [-1, -2], 5)") == []
    assert rows("SELECT * FROM near_duplicates('rev', NULL)") == []
    with pytest.raises(duckdb.Error, match=r"threshold is a cosine in \(0, 1\]"):
        rows("SELECT * FROM near_duplicates('rev', 1.5)")
    with pytest.raises(duckdb.Error, match="Table with name nope does not exist"):
        rows("SELECT * FROM semantic_search('nope', 'screen', 5)")
    with pytest.raises(duckdb.Error, match="does not exist"):  # a name, never SQL
        rows("SELECT * FROM near_duplicates('x''; DROP TABLE reviews; --', 0.9)")
    assert rows("SELECT count(*) FROM reviews") == [(80,)]


def test_search_through_the_sqlalchemy_dialect(tiny_server: Any, tmp_path: Any) -> None:
    """Superset's SQL Lab path: duckdb+textlens, sandboxed, over a remote server; the index
    made by the Python API."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from textlens.connectors.duckdb import register
    from textlens.connectors.sqlalchemy.shared import close_all

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        reg = register(con, tiny_server.target)
        con.execute(
            "CREATE TABLE reviews AS SELECT i AS id, 'review ' || i AS review FROM range(30) t(i)"
        )
        create_index(reg, "rev", "reviews", "id", "review", progress=False)
        expected = con.execute("SELECT id FROM semantic_search('rev', 'review 7', 3)").fetchall()
        reg.close()
    engine = sqlalchemy.create_engine(
        f"duckdb+textlens:///{path}?textlens_target={tiny_server.target}&textlens_sandbox=true"
    )
    try:
        with engine.connect() as connection:
            got = connection.execute(
                sqlalchemy.text("SELECT id FROM semantic_search('rev', 'review 7', 3)")
            ).fetchall()
            similar = connection.execute(
                sqlalchemy.text("SELECT count(*) FROM similar_to('rev', 7, 4)")
            ).fetchall()
    finally:
        engine.dispose()
        close_all()  # the process-wide anchor: later tests count their own rows
    assert [tuple(r) for r in got] == expected and similar[0][0] == 4
