"""The index lifecycle on real DuckDB files, embedded and remote: create, incremental
refresh, drop, list, all-or-nothing refresh (a failure, and a process killed midway),
and a rebuild when the model's version changes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from textlens.connectors.duckdb import EmbeddedBackend, register
from textlens.connectors.duckdb.search import (
    create_index,
    drop_index,
    list_indexes,
    refresh_index,
)
from textlens.connectors.duckdb.search import refresh as refresh_module
from textlens.samples.reviews import review_texts

duckdb = pytest.importorskip("duckdb")

ROWS = 60


def make_table(con: Any, rows: int = ROWS) -> list[str]:
    """`reviews(id, review, product)`, with two rows no index may hold (NULL, blank)."""
    texts: list[str | None] = list(review_texts(rows, seed=3))
    texts[5], texts[6] = None, "   "
    con.execute("CREATE TABLE reviews(id INTEGER, review VARCHAR, product VARCHAR)")
    con.executemany(
        "INSERT INTO reviews VALUES (?, ?, ?)",
        [(i, t, "phone" if i % 3 else "laptop") for i, t in enumerate(texts)],
    )
    return [t for t in texts if t and t.strip()]


def vectors(con: Any, name: str) -> dict[int, np.ndarray]:
    rows = con.execute(f'SELECT id, vector FROM textlens_index."{name}" ORDER BY id').fetchall()
    return {int(i): np.asarray(v, dtype=np.float32) for i, v in rows}


def embedded_vector(con: Any, text: str) -> np.ndarray:
    return np.asarray(con.execute("SELECT embed(?)", [text]).fetchall()[0][0], dtype=np.float32)


def test_create_refresh_list_drop(
    mode: str, registered: Callable[..., Any], connect: Callable[..., Any], tmp_path: Path
) -> None:
    con, reg = registered(mode, con=connect(tmp_path / "w.duckdb"))
    make_table(con)
    result = create_index(reg, "rev", "reviews", "id", "review", progress=False)
    assert (result.computed, result.vectors, result.skipped, result.rebuilt) == (58, 58, 2, True)
    before = vectors(con, "rev")
    assert 5 not in before and 6 not in before
    for ident in (0, 17, 42):  # each vector is embed() of its row's text
        text = con.execute("SELECT review FROM reviews WHERE id = ?", [ident]).fetchall()[0][0]
        np.testing.assert_allclose(before[ident], embedded_vector(con, text), atol=1e-6)
    [status] = list_indexes(con)
    assert status.describe() == "up to date" and status.spec.vectors == 58

    # One changed text, one deleted row, one new row, one text emptied, one NULL filled in.
    con.execute("UPDATE reviews SET review = 'the battery died after a week' WHERE id = 1")
    con.execute("DELETE FROM reviews WHERE id = 2")
    con.execute("INSERT INTO reviews VALUES (100, 'new phone, great screen', 'phone')")
    con.execute("UPDATE reviews SET review = '' WHERE id = 3")
    con.execute("UPDATE reviews SET review = 'slow delivery' WHERE id = 5")
    [status] = list_indexes(con)
    assert status.stale and (status.changed, status.deleted) == (3, 2)
    assert "3 new or changed, 2 deleted" in status.describe()

    result = refresh_index(reg, "rev", progress=False)
    assert (result.computed, result.removed, result.vectors, result.rebuilt) == (3, 3, 58, False)
    after = vectors(con, "rev")
    assert set(after) == set(before) - {2, 3} | {5, 100}
    for ident in set(before) - {1, 2, 3}:  # untouched rows keep their vectors, bit for bit
        np.testing.assert_array_equal(after[ident], before[ident])
    np.testing.assert_allclose(
        after[1], embedded_vector(con, "the battery died after a week"), atol=1e-6
    )
    assert list_indexes(con)[0].describe() == "up to date"
    again = refresh_index(reg, "rev", progress=False)
    assert (again.computed, again.removed) == (0, 0)

    assert drop_index(con, "rev") is True
    assert list_indexes(con) == []
    assert drop_index(con, "rev") is False
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'textlens_index'"
    ).fetchall()
    assert tables == [("catalog",)]


def test_bad_names_and_sources_are_refused_clearly(
    registered: Callable[..., Any], connect: Callable[..., Any]
) -> None:
    con, reg = registered("embedded")
    make_table(con, 8)
    con.execute("CREATE TABLE dup AS SELECT 1 AS id, 'a text' AS body UNION ALL SELECT 1, 'b'")
    cases = [
        (("x; DROP TABLE reviews", "reviews", "id", "review"), "SQL identifier"),
        (("catalog", "reviews", "id", "review"), "reserved"),
        (("ok", "nope", "id", "review"), "no table or view named 'main.nope'"),
        (("ok", "reviews", "id", "body"), "no column 'body' for the text"),
        (("ok", "reviews", "ident", "review"), "no column 'ident' for the id"),
        (("ok", "dup", "id", "body"), "not unique (e.g. '1' repeats)"),
        (("ok", 'reviews"; --', "id", "review"), "no table or view"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            create_index(reg, *args, progress=False)
    with pytest.raises(ValueError, match="no index named 'missing'"):
        refresh_index(reg, "missing", progress=False)
    assert con.execute("SELECT count(*) FROM reviews").fetchall() == [(8,)]
    create_index(reg, "ok", "reviews", "id", "review", progress=False)
    with pytest.raises(ValueError, match="exists; refresh it, or pass --replace"):
        create_index(reg, "ok", "reviews", "id", "review", progress=False)
    replaced = create_index(
        reg, "ok", "reviews", "id", "review", replace_existing=True, progress=False
    )
    assert (replaced.vectors, replaced.skipped) == (6, 2)


def test_a_failed_refresh_leaves_the_index_as_it_was(
    registered: Callable[..., Any], connect: Callable[..., Any], monkeypatch: Any
) -> None:
    """truncation='error' and an over-long text in the third step: nothing changes."""
    con, reg = registered("embedded", truncation="error")
    make_table(con)
    con.execute("UPDATE reviews SET review = left(review, 60)")  # within the tiny model's 128
    create_index(reg, "rev", "reviews", "id", "review", progress=False)
    before = vectors(con, "rev")
    catalog = con.execute("SELECT * FROM textlens_index.catalog").fetchall()
    con.execute("UPDATE reviews SET review = review || ' again' WHERE id < 20")
    con.execute("UPDATE reviews SET review = repeat('word ', 400) WHERE id = 15")
    monkeypatch.setattr(refresh_module, "EMBED_STEP", 4)
    with pytest.raises(duckdb.Error, match="TextTooLong"):
        refresh_index(reg, "rev", progress=False)
    after = vectors(con, "rev")
    assert after.keys() == before.keys()
    for ident, vector in before.items():
        np.testing.assert_array_equal(after[ident], vector)
    assert con.execute("SELECT * FROM textlens_index.catalog").fetchall() == catalog
    temps = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert temps == []


KILLED_REFRESH = textwrap.dedent(
    """
    import sys, time, duckdb
    from textlens.connectors.duckdb import register
    from textlens.connectors.duckdb.search import refresh_index
    from textlens.connectors.duckdb.search import refresh as module

    module.EMBED_STEP = 4
    con = duckdb.connect(sys.argv[1])
    reg = register(con, config=sys.argv[2], mode="embedded")
    chunks = []

    def stall(function, rows):  # after two chunks are embedded: say so, then hang
        chunks.append(rows)
        if len(chunks) == 2:
            print("embedding", flush=True)
            time.sleep(120)

    reg.add_listener(stall)
    refresh_index(reg, "rev", progress=False)
    print("finished", flush=True)
    """
)


def test_a_refresh_killed_midway_leaves_the_index_intact(
    tiny_analyzer: Any, tiny_config: Path, tmp_path: Path
) -> None:
    path = tmp_path / "killed.duckdb"
    with duckdb.connect(str(path)) as con:
        reg = register(con, backend=EmbeddedBackend(tiny_analyzer))
        make_table(con)
        create_index(reg, "rev", "reviews", "id", "review", progress=False)
        before = vectors(con, "rev")
        con.execute("UPDATE reviews SET review = review || ' again' WHERE id < 30")
        con.execute("DELETE FROM reviews WHERE id >= 50")
        reg.close()
    script = tmp_path / "refresh.py"
    script.write_text(KILLED_REFRESH, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, str(script), str(path), str(tiny_config)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline and line != "embedding\n":
            line = child.stdout.readline()
            if not line:
                break
        assert line == "embedding\n", "the refresh never reached its embedding step"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    with duckdb.connect(str(path)) as con:
        after = vectors(con, "rev")
        assert after.keys() == before.keys()
        for ident, vector in before.items():
            np.testing.assert_array_equal(after[ident], vector)
        [status] = list_indexes(con)
        # ids 0-29 changed but 5 (NULL stays NULL); 6 was blank and now has a text
        assert (status.changed, status.deleted) == (29, 10)
        reg = register(con, backend=EmbeddedBackend(tiny_analyzer))
        finished = refresh_index(reg, "rev", progress=False)
        assert (finished.computed, finished.removed, finished.vectors) == (29, 38, 49)
        reg.close()


def test_a_new_model_version_rebuilds(
    registered: Callable[..., Any],
    connect: Callable[..., Any],
    tiny_models_dir: dict[str, Path],
    tmp_path: Path,
) -> None:
    """Same model name, other weights (a new registered version): every vector is redone."""
    from textlens.server.assembly import load_analyzer
    from textlens.server.settings import load_settings

    path = tmp_path / "w.duckdb"
    con, reg = registered("embedded", con=connect(path))
    make_table(con)
    first = create_index(reg, "rev", "reviews", "id", "review", progress=False)
    version = con.execute("SELECT model_version FROM textlens_index.catalog").fetchall()[0][0]
    config = tmp_path / "retrained.toml"
    config.write_text(
        f'[[models]]\nname = "tiny-embed"\ntask = "embed"\n'
        f'source = "{tiny_models_dir["tiny-sequence"]}"\ndevice = "cpu"\n',
        encoding="utf-8",
    )
    analyzer = load_analyzer(load_settings(config).models)
    try:
        reg.close()
        other = register(con, backend=EmbeddedBackend(analyzer))
        result = refresh_index(other, "rev", progress=False)
        assert result.rebuilt and result.computed == first.vectors == result.removed
        new_version = con.execute("SELECT model_version FROM textlens_index.catalog").fetchall()
        assert new_version[0][0] != version
        assert con.execute(
            'SELECT count(DISTINCT model_version) FROM textlens_index."rev"'
        ).fetchall() == [(1,)]
        text = con.execute("SELECT review FROM reviews WHERE id = 7").fetchall()[0][0]
        np.testing.assert_allclose(vectors(con, "rev")[7], embedded_vector(con, text), atol=1e-6)
        other.close()
    finally:
        analyzer.close()
