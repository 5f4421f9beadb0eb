"""`textlens train --task aspect`: (text, aspect, label) rows in, a pair classifier out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="training needs the `models` extra")
duckdb = pytest.importorskip("duckdb")

from textlens.cli import main  # noqa: E402
from textlens.server.training.sources import Source, TrainingDataError, pair_rows  # noqa: E402

TINY = ["--epochs", "2", "--max-length", "32", "--batch-size", "8", "--threads", "1"]
COMPANIES = ["google", "microsoft", "apple", "amazon", "intel", "sony", "toyota", "ibm"]


def _rows() -> list[tuple[str, str, str]]:
    """Two companies per text, one up and one down: only the target tells them apart."""
    rows = []
    for a in COMPANIES:
        for b in COMPANIES:
            if a != b:
                k = len(rows)
                text = f"{a} good great best {k} while {b} bad awful worst {k}"
                rows += [(text, a, "positive"), (text, b, "negative")]
    return rows


@pytest.fixture
def aspect_db(tmp_path: Path) -> Path:
    db = tmp_path / "aspects.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE a (body VARCHAR, company VARCHAR, stance VARCHAR)")
    con.executemany("INSERT INTO a VALUES (?, ?, ?)", _rows())
    con.close()
    return db


def test_pair_rows_are_read_and_checked(aspect_db: Path) -> None:
    src = Source(
        query="SELECT body AS text, company AS aspect, stance AS label FROM a", db=aspect_db
    )
    data = pair_rows(src)
    assert sorted((t, a, lab) for (t, a), lab in data.rows) == sorted(_rows())
    with pytest.raises(TrainingDataError, match="no aspect column 'aspect'"):
        pair_rows(Source(query="SELECT body AS text, stance AS label FROM a", db=aspect_db))
    with pytest.raises(TrainingDataError, match="NULL 'aspect'"):
        pair_rows(Source(query="SELECT 'x' AS text, NULL AS aspect, 'p' AS label", db=aspect_db))


def test_train_aspect_from_sql_and_serve_it(
    tiny_models_dir: dict[str, Path], aspect_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "aspect"
    query = "SELECT body AS text, company AS aspect, stance AS label FROM a"
    argv = ["train", "--task", "aspect", "--db", str(aspect_db), "--query", query]
    argv += ["--base", str(tiny_models_dir["tiny-encoder"]), *TINY, "--lr", "3e-3"]
    assert main([*argv, "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["task"] == "aspect" and report["metric"] == "macro_f1"
    # Split by text: no text has pairs on both sides.
    assert report["valid_rows"] % 2 == 0 and report["valid_rows"] > 0
    meta = json.loads((out / "textlens_model.json").read_text())
    assert meta["task"] == "aspect" and set(meta["id2label"].values()) == {"negative", "positive"}

    from textlens.server.assembly import load_models
    from textlens.server.runtime.analyzer import Analyzer
    from textlens.server.settings import ModelSpec

    registry = load_models([ModelSpec(name="a", task="aspect", source=str(out))])
    analyzer = Analyzer(registry)
    try:
        text = "sony good great best 1 while intel bad awful worst 1"
        got = analyzer.aspect_sentiment([text, text, text], ["sony", "intel", "nasa"]).result(60)
        assert got[2] is None  # not mentioned: never asked
        assert got[0] is not None and got[1] is not None
        assert set(got[0].probabilities) == {"negative", "positive"}
    finally:
        analyzer.close()


def test_base_can_be_a_textlens_model(
    tiny_models_dir: dict[str, Path], aspect_db: Path, tmp_path: Path
) -> None:
    """--base MODEL_DIR starts from a fine-tuned model; the new delta loads on top of it."""
    first, second = tmp_path / "first", tmp_path / "second"
    query = "SELECT company || ' ' || stance AS text, stance AS label FROM a"
    common = ["train", "--task", "sentiment", "--db", str(aspect_db), "--query", query, *TINY]
    assert main([*common, "--base", str(tiny_models_dir["tiny-encoder"]), "--out", str(first)]) == 0
    assert main([*common, "--base", str(first), "--out", str(second)]) == 0
    meta = json.loads((second / "textlens_model.json").read_text())
    assert meta["base"]["source"] == str(first)

    from textlens.server.runtime.loading import build_network

    network, _, id2label, _, _ = build_network(str(second), "sentiment")
    assert set(id2label.values()) == {"negative", "positive"}
    # The first delta was merged under the second: its weights differ from the bare base.
    bare, *_ = build_network(str(tiny_models_dir["tiny-encoder"]), "embed")
    name = "hf.bert.encoder.layer.0.attention.self.query.weight"
    merged = dict(network.named_parameters())[name]
    plain = dict(bare.named_parameters())[name.replace("hf.bert.", "hf.")]
    assert (merged - plain).abs().max().item() != 0
