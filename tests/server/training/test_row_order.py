"""A trained model depends on the rows, not on the order a query returns them in."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="training needs the `models` extra")
duckdb = pytest.importorskip("duckdb")

from tests.server.training.helpers import topic_rows  # noqa: E402
from textlens.cli import main  # noqa: E402
from textlens.server.training.pipeline import TrainJob, load_job_data  # noqa: E402
from textlens.server.training.sources import Source, majority_labels, text_rows  # noqa: E402
from textlens.server.training.trainer import TrainConfig  # noqa: E402

TINY = ["--epochs", "1", "--max-length", "24", "--batch-size", "8", "--threads", "1"]


def _db(path: Path, rows: list[tuple[str, str]]) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (text VARCHAR, label VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    con.close()
    return path


def test_split_and_training_rows_ignore_the_row_order(tmp_path: Path) -> None:
    rows = topic_rows(90)
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    loaded = []
    for name, data in (("a", rows), ("b", shuffled), ("c", rows[::-1])):
        db = _db(tmp_path / f"{name}.duckdb", data)
        job = TrainJob("classify", Source(query="SELECT * FROM t", db=db), TrainConfig(seed=3))
        loaded.append(load_job_data(job))
    (train_a, valid_a, rec_a), (train_b, valid_b, rec_b), (train_c, valid_c, _) = loaded
    assert train_a == train_b == train_c and valid_a == valid_b == valid_c
    assert rec_a["data"]["sha256"] == rec_b["data"]["sha256"]
    # The seed still decides: another seed gives another split of the same rows.
    db = tmp_path / "a.duckdb"
    other = load_job_data(
        TrainJob("classify", Source(query="SELECT * FROM t", db=db), TrainConfig(seed=4))
    )
    assert other[1] != valid_a and sorted(other[0] + other[1]) == sorted(train_a + valid_a)


def test_a_repeated_text_takes_its_majority_label_whatever_the_order() -> None:
    rows = [("same", "b"), ("same", "a"), ("same", "b"), ("other", "x")]
    assert sorted(majority_labels(rows)) == [("other", "x"), ("same", "b")]
    assert sorted(majority_labels(rows[::-1])) == [("other", "x"), ("same", "b")]
    tie = [("t", "z"), ("t", "a")]
    assert majority_labels(tie) == majority_labels(tie[::-1]) == [("t", "a")]


def test_text_rows_dedupe_is_order_free(tmp_path: Path) -> None:
    rows = [("dup", "a"), ("dup", "b"), ("dup", "b"), ("x", "a"), ("  ", "a")]
    one = text_rows(Source(query="SELECT * FROM t", db=_db(tmp_path / "1.duckdb", rows)))
    two = text_rows(Source(query="SELECT * FROM t", db=_db(tmp_path / "2.duckdb", rows[::-1])))
    assert one.rows == two.rows and sorted(one.rows) == [("dup", "b"), ("x", "a")]


def test_trained_weights_are_identical_for_reordered_rows(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    rows = topic_rows(60)
    digests = []
    for name, data in (("fwd", rows), ("rev", rows[::-1])):
        db = _db(tmp_path / f"{name}.duckdb", data)
        out = tmp_path / f"model-{name}"
        argv = ["train", "--db", str(db), "--query", "SELECT * FROM t ORDER BY random()"]
        argv += ["--base", str(tiny_models_dir["tiny-encoder"]), *TINY, "--out", str(out)]
        assert main(argv) == 0
        meta = json.loads((out / "textlens_model.json").read_text())
        validation = meta["training"]["validation"]
        validation.pop("train_seconds")
        digests.append(((out / "delta.safetensors").read_bytes(), validation))
    assert digests[0] == digests[1]
