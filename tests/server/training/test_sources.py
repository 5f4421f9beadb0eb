"""Labelled-data loading and its errors: real DuckDB files, CSV and Parquet; no model needed."""

from __future__ import annotations

from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb")

from textlens.server.training.sources import (  # noqa: E402
    Source,
    TrainingDataError,
    check_classes,
    check_valid_labels,
    text_rows,
)
from textlens.server.training.token_sources import token_rows, words_and_tags  # noqa: E402


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t (body VARCHAR, topic VARCHAR, n INTEGER)")
    rows = [(f"text {i}", ["a", "b"][i % 2], i) for i in range(20)]
    rows += [("dup", "a", 100), ("dup", "b", 101), ("   ", "a", 102)]
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    con.close()
    return db


def test_query_rows_fingerprint_and_dedupe(warehouse: Path) -> None:
    src = Source(query="SELECT body AS text, topic AS label FROM t ORDER BY n", db=warehouse)
    data = text_rows(src)
    assert len(data.rows) == 21  # the repeated "dup" and the blank text are dropped
    assert ("dup", "a") in data.rows  # a tie between labels: the smallest label
    assert data.fingerprint["rows"] == 21 and len(data.fingerprint["sha256"]) == 64
    again = text_rows(src)
    assert again.fingerprint == data.fingerprint
    assert len(text_rows(src, dedupe=False).rows) == 23


def test_integer_labels_become_strings(warehouse: Path) -> None:
    src = Source(query="SELECT body AS text, n % 3 AS label FROM t", db=warehouse)
    assert {label for _, label in text_rows(src).rows} == {"0", "1", "2"}


def test_missing_column_names_the_columns_and_the_fix(warehouse: Path) -> None:
    src = Source(query="SELECT body, topic FROM t", db=warehouse)
    with pytest.raises(TrainingDataError, match=r"no text column 'text'.*\['body', 'topic'\].*AS"):
        text_rows(src)


def test_null_labels_are_counted_with_row_numbers(warehouse: Path) -> None:
    src = Source(
        query="SELECT body AS text, CASE WHEN n < 3 THEN NULL ELSE topic END AS label "
        "FROM t ORDER BY n",
        db=warehouse,
    )
    with pytest.raises(TrainingDataError, match=r"3 of 23 rows .* NULL 'label' \(rows 1, 2, 3\)"):
        text_rows(src)


def test_single_class_and_too_few_rows() -> None:
    one_class = [(f"t{i}", "x") for i in range(10)]
    with pytest.raises(TrainingDataError, match=r"every row .* label 'x'.*two classes"):
        check_classes(one_class, "q")
    with pytest.raises(TrainingDataError, match=r"3 usable rows.*at least 8"):
        check_classes([("a", "x"), ("b", "y"), ("c", "x")], "q")
    rare = [(f"t{i}", "x") for i in range(9)] + [("r", "rare")]
    with pytest.raises(TrainingDataError, match=r"labels \['rare'\].*fewer than 2"):
        check_classes(rare, "q")


def test_labels_only_in_validation() -> None:
    with pytest.raises(TrainingDataError, match=r"labels \['z'\] occur in the test rows"):
        check_valid_labels({"a", "b"}, [("t", "a"), ("u", "z")], "the test rows")


def test_bad_sql_and_missing_files(tmp_path: Path, warehouse: Path) -> None:
    with pytest.raises(TrainingDataError, match="could not read query"):
        text_rows(Source(query="SELECT nope FROM t", db=warehouse))
    with pytest.raises(TrainingDataError, match="does not exist"):
        text_rows(Source(query="SELECT 1", db=tmp_path / "absent.duckdb"))
    with pytest.raises(TrainingDataError, match="does not exist"):
        text_rows(Source(path=tmp_path / "absent.csv"))
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(TrainingDataError, match="unknown file type"):
        text_rows(Source(path=tmp_path / "x.xlsx"))


def test_csv_and_parquet_read_alike(tmp_path: Path, warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    con.execute(f"COPY (SELECT body AS text, topic AS label FROM t) TO '{tmp_path / 'd.csv'}'")
    con.execute(f"COPY (SELECT body AS text, topic AS label FROM t) TO '{tmp_path / 'd.parquet'}'")
    con.close()
    csv = text_rows(Source(path=tmp_path / "d.csv"))
    parquet = text_rows(Source(path=tmp_path / "d.parquet"))
    assert csv.rows == parquet.rows and len(csv.rows) == 21
    assert csv.fingerprint["sha256"] == parquet.fingerprint["sha256"]


def test_spans_become_bio_tags() -> None:
    words, tags = words_and_tags(
        "Angela Merkel visited Siemens in Berlin.",
        [(0, 13, "PER"), (22, 29, "ORG"), (33, 39, "LOC")],
    )
    assert words == ["Angela", "Merkel", "visited", "Siemens", "in", "Berlin", "."]
    assert tags == ["B-PER", "I-PER", "O", "B-ORG", "O", "B-LOC", "O"]
    with pytest.raises(TrainingDataError, match="word boundaries"):
        words_and_tags("Siemens AG", [(3, 5, "ORG")])


def test_ner_spans_from_sql_struct_lists_and_json(tmp_path: Path) -> None:
    db = tmp_path / "ner.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE docs AS SELECT 'Paris is in France' AS text, "
        "[{'start': 0, 'end': 5, 'label': 'LOC'}, {'start': 12, 'end': 18, 'label': 'LOC'}] "
        'AS entities, \'[{"start": 0, "end": 5, "label": "LOC"}]\' AS spans_json '
        "FROM range(8)"
    )
    con.close()
    structs = token_rows(Source(query="SELECT text, entities FROM docs", db=db))
    assert structs.rows[0] == (["Paris", "is", "in", "France"], ["B-LOC", "O", "O", "B-LOC"])
    as_json = token_rows(Source(query="SELECT text, spans_json AS entities FROM docs", db=db))
    assert as_json.rows[0][1] == ["B-LOC", "O", "O", "O"]
    with pytest.raises(TrainingDataError, match="no entity at all"):
        token_rows(Source(query="SELECT text, [] AS entities FROM docs", db=db))


def test_conll_file(tmp_path: Path) -> None:
    path = tmp_path / "d.conll"
    path.write_text("\n\n".join("John\tB-PER\nruns\tO" for _ in range(8)) + "\n")
    data = token_rows(Source(path=path))
    assert data.rows[0] == (["John", "runs"], ["B-PER", "O"]) and data.fingerprint["rows"] == 8
