"""`textlens sql` and `textlens enrich`, end to end as subprocesses."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from textlens.samples.reviews import create_reviews_table

duckdb = pytest.importorskip("duckdb")


def textlens(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("TEXTLENS_TARGET", None)
    return subprocess.run(
        [sys.executable, "-m", "textlens.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with 1000 sample reviews (5% exact duplicates) and one NULL review."""
    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    create_reviews_table(con, "reviews", 1000, duplicate_fraction=0.05)
    con.execute("UPDATE reviews SET review = NULL WHERE review_id = 7")
    con.close()
    return path


def read(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --------------------------------------------------------------------------
# textlens sql
# --------------------------------------------------------------------------


def test_sql_prints_a_table(tiny_server: Any, warehouse: Path) -> None:
    done = textlens(
        "sql",
        "SELECT review_id, sentiment(review) AS s, sentiment_score(review) AS score "
        "FROM reviews ORDER BY review_id LIMIT 8",
        "--db", warehouse, "--target", tiny_server.target, "--stats",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "review_id" in done.stdout and "score" in done.stdout and "│" in done.stdout
    assert "NULL" in done.stdout  # review 7
    assert "texts computed" in done.stderr and tiny_server.target in done.stderr


def test_sql_csv_json_and_parquet(tiny_server: Any, warehouse: Path, tmp_path: Path) -> None:
    query = (
        "SELECT review_id, sentiment(review) AS s, entities(review) AS e "
        "FROM reviews ORDER BY review_id LIMIT 10"
    )
    common = ("--db", warehouse, "--target", tiny_server.target)
    as_csv = textlens("sql", query, *common, "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert (
        len(rows) == 10
        and rows[0]["s"] in ("negative", "neutral", "positive")
        and rows[6]["s"] == ""
    )

    as_json = textlens("sql", query, *common, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    objects = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert len(objects) == 10 and objects[6]["s"] is None
    assert isinstance(objects[0]["e"], list) and {"text", "label", "start", "end"} <= set(
        objects[0]["e"][0]
    )

    out = tmp_path / "result.parquet"
    as_parquet = textlens("sql", query, *common, "--format", "parquet", "-o", out)
    assert as_parquet.returncode == 0, as_parquet.stderr
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*), count(s) FROM '{out}'").fetchone() == (10, 9)
    assert not list(tmp_path.glob(".*tmp*"))  # the temporary file was renamed
    no_file = textlens("sql", query, *common, "--format", "parquet")
    assert no_file.returncode == 2 and "--output" in no_file.stderr


def test_sql_errors_are_one_line(tiny_server: Any, warehouse: Path) -> None:
    done = textlens(
        "sql", "SELECT sentiment(review, 'nope') FROM reviews",
        "--db", warehouse, "--target", tiny_server.target,
    )  # fmt: skip
    assert done.returncode == 1
    assert "textlens: error:" in done.stderr and "UnknownModel" in done.stderr
    assert "Traceback" not in done.stderr
    down = textlens("sql", "SELECT 1", "--target", "127.0.0.1:1")
    assert down.returncode == 1 and "127.0.0.1:1 is unavailable" in down.stderr


def test_sql_embedded_mode(tiny_config: Path) -> None:
    done = textlens(
        "sql", "SELECT sentiment('I love it') AS s, len(embed('x')) AS dim",
        "--config", tiny_config, "--format", "csv",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    row = next(csv.DictReader(io.StringIO(done.stdout)))
    assert row["s"] in ("negative", "positive") and row["dim"] == "32"


# --------------------------------------------------------------------------
# textlens enrich
# --------------------------------------------------------------------------


def test_enrich_writes_a_table_with_progress(tiny_server: Any, warehouse: Path) -> None:
    done = textlens(
        "enrich", "--db", warehouse, "--table", "reviews", "--column", "review",
        "--out", "reviews_enriched", "--tasks", "sentiment,entities,embed",
        "--target", tiny_server.target,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # The tqdm bar: rows done of the total, rate and the final 100%.
    assert "rows/s" in done.stderr and "1000/1000" in done.stderr and "100%" in done.stderr
    assert "wrote 1000 rows" in done.stderr
    columns = [r[0] for r in read(warehouse, "DESCRIBE reviews_enriched")]
    assert columns[-5:] == ["review", "sentiment", "sentiment_score", "entities", "embedding"]
    counts = read(
        warehouse,
        "SELECT count(*), count(sentiment), count(entities), count(embedding), "
        "bool_and(len(embedding) = 32) FROM reviews_enriched",
    )
    assert counts == [(1000, 999, 999, 999, True)]
    # Same rows in the same order as the source.
    assert read(warehouse, "SELECT review_id FROM reviews_enriched") == read(
        warehouse, "SELECT review_id FROM reviews"
    )

    again = textlens(
        "enrich", "--db", warehouse, "--table", "reviews", "--column", "review",
        "--out", "reviews_enriched", "--target", tiny_server.target,
    )  # fmt: skip
    assert again.returncode == 2 and "--replace" in again.stderr
    replaced = textlens(
        "enrich", "--db", warehouse, "--table", "reviews", "--column", "review",
        "--out", "reviews_enriched", "--target", tiny_server.target, "--replace",
        "--no-progress",
    )  # fmt: skip
    assert replaced.returncode == 0, replaced.stderr
    assert "rows/s]" not in replaced.stderr  # --no-progress: only the summary
    assert [r[0] for r in read(warehouse, "DESCRIBE reviews_enriched")][-2:] == [
        "sentiment",
        "sentiment_score",
    ]


def test_enrich_parquet_to_parquet(tiny_server: Any, warehouse: Path, tmp_path: Path) -> None:
    source = tmp_path / "reviews.parquet"
    con = duckdb.connect(str(warehouse), read_only=True)
    con.execute(f"COPY reviews TO '{source}' (FORMAT parquet)")
    con.close()
    out = tmp_path / "enriched.parquet"
    done = textlens(
        "enrich", "--table", source, "--column", "review", "--out", out,
        "--tasks", "classify,sentiment_probs", "--labels", "price,quality,delivery",
        "--target", tiny_server.target,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    con = duckdb.connect()
    row = con.execute(
        f"SELECT count(*), count(classification), bool_and(classification IN "
        f"('price', 'quality', 'delivery')) FROM '{out}'"
    ).fetchone()
    assert row == (1000, 999, True)


def test_enrich_is_all_or_nothing(tiny_server: Any, warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute(
        "CREATE OR REPLACE TABLE with_long AS SELECT * FROM reviews UNION ALL "
        "SELECT 99999, DATE '2025-01-01', 'x', 'y', 1, repeat('very long review ', 500)"
    )
    con.close()
    done = textlens(
        "enrich", "--db", warehouse, "--table", "with_long", "--column", "review",
        "--out", "partial", "--truncation", "error", "--target", tiny_server.target,
    )  # fmt: skip
    assert done.returncode == 1
    assert "TextTooLong" in done.stderr and "nothing was written" in done.stderr
    assert read(warehouse, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'partial'") == [
        (0,)
    ]


def test_enrich_checks_its_arguments(tiny_server: Any, warehouse: Path) -> None:
    base = ("--db", warehouse, "--table", "reviews", "--target", tiny_server.target)
    no_labels = textlens("enrich", *base, "--column", "review", "--out", "x", "--tasks", "classify")
    assert no_labels.returncode == 2 and "--labels" in no_labels.stderr
    clash = textlens("enrich", *base, "--column", "review", "--out", "x", "--tasks", "sentiment")
    assert clash.returncode == 0, clash.stderr
    twice = textlens(
        "enrich", "--db", warehouse, "--table", "x", "--column", "review", "--out", "y",
        "--target", tiny_server.target,
    )  # fmt: skip
    assert twice.returncode == 2 and "--column-prefix" in twice.stderr
    missing = textlens("enrich", *base, "--column", "nope", "--out", "z")
    assert missing.returncode == 2 and "no column 'nope'" in missing.stderr


def test_parquet_outputs_with_embeddings_read_in_pyarrow(tmp_path: Path) -> None:
    """DuckDB writes NULL rows of an ARRAY column (an embedding of a NULL text) into
    Parquet in a form pyarrow refuses; our file writer casts them to lists."""
    import pyarrow.parquet as pq

    from textlens.jobs.sql import copy_query

    out = tmp_path / "embeddings.parquet"
    query = """SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE [i, 0.5]::FLOAT[2] END AS "the vec"
               FROM range(6) r(i);"""
    with duckdb.connect() as con:
        copy_query(con, query, "parquet", out)
        assert con.execute(f"SELECT count(\"the vec\") FROM '{out}'").fetchone() == (4,)
    assert pq.read_table(out).to_pydict()["the vec"] == [
        None, [1.0, 0.5], [2.0, 0.5], None, [4.0, 0.5], [5.0, 0.5]
    ]  # fmt: skip
