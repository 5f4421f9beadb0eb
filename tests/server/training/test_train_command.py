"""`textlens train` / `textlens eval` end to end on the tiny random models (seconds each).

Real DuckDB files and the real CLI entry point; what is checked is the
machinery (data in, artifact, report, PNGs, registry), not model quality.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="training needs the `models` extra")
pytest.importorskip("matplotlib", reason="reports need matplotlib (the `models` extra)")

from textlens.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
QUERY = "SELECT body AS text, topic AS label FROM tickets WHERE labelled"
TINY = ["--epochs", "1", "--max-length", "24", "--batch-size", "8", "--threads", "1"]


@pytest.fixture
def train(tiny_models_dir: dict[str, Path], topics_db: Path) -> Callable[..., int]:
    def run(*args: str, query: str = QUERY) -> int:
        base = str(tiny_models_dir["tiny-encoder"])
        argv = ["train", "--db", str(topics_db), "--query", query, "--base", base, *TINY]
        return main([*argv, *args])

    return run


def test_train_from_sql_writes_model_report_and_charts(
    train: Callable[..., int], tmp_path: Path, topics_db: Path
) -> None:
    out = tmp_path / "model"
    assert train("--out", str(out), "--method", "full", "--lr", "1e-3") == 0
    report = json.loads((out / "report.json").read_text())
    v = report["validation"]
    assert report["task"] == "classify" and report["metric"] == "macro_f1"
    assert report["method"] == "full" and report["train_rows"] + report["valid_rows"] == 90
    assert report["data"]["rows"] == 90 and len(report["data"]["sha256"]) == 64
    assert set(v["per_class"]) == {"money", "sports", "travel"}
    assert {"precision", "recall", "f1", "support"} <= set(v["per_class"]["money"])
    assert len(v["confusion_matrix"]) == 3 and sum(map(sum, v["confusion_matrix"])) == v["rows"]
    assert report["curve"] and {"epoch", "loss", "score"} <= set(report["curve"][0])
    for png in ("training_curve.png", "confusion_matrix.png"):
        data = (out / png).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000
    meta = json.loads((out / "textlens_model.json").read_text())
    assert meta["lora"]["r"] == 0 and meta["training"]["config"]["method"] == "full"
    assert meta["training"]["data"] == report["data"]

    eval_out = tmp_path / "eval"
    code = main(
        [
            "eval",
            "--model",
            str(out),
            "--db",
            str(topics_db),
            "--query",
            QUERY,
            "--out",
            str(eval_out),
        ]
    )
    assert code == 0
    evaluation = json.loads((eval_out / "report.json").read_text())
    assert evaluation["kind"] == "evaluation" and evaluation["evaluation"]["rows"] == 90
    assert (eval_out / "confusion_matrix.png").read_bytes().startswith(PNG)


def test_lora_artifact_is_small_and_registered_versions_count_up(
    train: Callable[..., int], tmp_path: Path
) -> None:
    registry = tmp_path / "registry"
    for _ in range(2):
        assert train("--register", "topics", "--registry", str(registry)) == 0
    assert (registry / "topics" / "CURRENT").read_text().strip() == "v2"
    meta = json.loads((registry / "topics" / "v2" / "textlens_model.json").read_text())
    assert meta["lora"]["r"] == 16 and meta["training"]["config"]["method"] == "lora"
    report = json.loads((registry / "topics" / "v2" / "report.json").read_text())
    assert report["registered"] == {"name": "topics", "version": "v2", "promoted": True}
    assert report["model_dir"] == str(registry / "topics" / "v2")


def test_registering_names_the_registered_directory_not_the_staging_one(
    train: Callable[..., int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The staging directory is empty once the model is registered: never point at it."""
    registry = tmp_path / "registry"
    assert train("--register", "topics", "--registry", str(registry)) == 0
    out = capsys.readouterr().out
    assert ".staging" not in out, out
    final = registry / "topics" / "v1"
    assert f"registered topics v1 at {final} (" in out and "report.json" in out


def test_failed_training_leaves_registry_unchanged(
    train: Callable[..., int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "registry"
    assert train("--register", "topics", "--registry", str(registry)) == 0
    before = sorted(str(p.relative_to(registry)) for p in registry.rglob("*"))
    bad_base = ["--base", str(tmp_path / "no-such-base")]
    assert train("--register", "topics", "--registry", str(registry), *bad_base) == 2
    assert "does not exist" in capsys.readouterr().err
    after = sorted(str(p.relative_to(registry)) for p in registry.rglob("*"))
    assert after == before


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT body AS text, topic AS label FROM tickets", "NULL 'label'"),
        ("SELECT body, topic AS label FROM tickets WHERE labelled", "no text column 'text'"),
        ("SELECT body AS text, 'x' AS label FROM tickets", "two classes"),
        ("SELECT body AS text, topic AS label FROM tickets WHERE labelled LIMIT 5", "5 usable"),
    ],
)
def test_bad_data_fails_fast_with_a_clear_error(
    train: Callable[..., int], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    query: str, message: str,
) -> None:  # fmt: skip
    assert train("--out", str(tmp_path / "m"), query=query) == 2
    err = capsys.readouterr().err
    assert err.startswith("textlens: error:") and message in err
    assert not (tmp_path / "m").exists()


def test_validation_labels_unseen_in_training(
    train: Callable[..., int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    valid = "SELECT body AS text, 'weather' AS label FROM tickets LIMIT 3"
    assert train("--out", str(tmp_path / "m"), "--valid-query", valid) == 2
    assert "['weather'] occur in query" in capsys.readouterr().err


def test_ner_from_sql_spans_reports_per_type(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    import duckdb

    db = tmp_path / "ner.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        """CREATE TABLE docs AS SELECT
             'john went to paris with mary' AS text,
             [{'start': 0, 'end': 4, 'label': 'PER'}, {'start': 13, 'end': 18, 'label': 'LOC'},
              {'start': 24, 'end': 28, 'label': 'PER'}] AS entities
           FROM range(40)"""
    )
    con.close()
    out = tmp_path / "ner"
    argv = ["train", "--task", "ner", "--db", str(db), "--query", "SELECT * FROM docs"]
    base = ["--base", str(tiny_models_dir["tiny-encoder"])]
    assert main([*argv, *base, *TINY, "--out", str(out), "--lr", "1e-2"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["metric"] == "f1" and set(report["validation"]["per_type"]) <= {"PER", "LOC"}
    assert (out / "per_type_scores.png").read_bytes().startswith(PNG)
    meta = json.loads((out / "textlens_model.json").read_text())
    assert meta["task"] == "ner" and "B-LOC" in meta["id2label"].values()


def test_resume_reports_old_vs_new_and_promotes_only_if_better(
    train: Callable[..., int], tmp_path: Path
) -> None:
    registry = tmp_path / "registry"
    assert train("--register", "topics", "--registry", str(registry)) == 0
    resume = ["--resume-from", "topics", "--registry", str(registry)]
    # lr 0: the new version is the old one, so it is not better and must not be promoted.
    assert train(*resume, "--promote-if-better", "--lr", "0") == 0
    report = json.loads((registry / "topics" / "v2" / "report.json").read_text())
    assert report["previous"]["version"] == "v1"
    assert report["score"] == report["previous"]["score"] and report["improvement"] == 0
    assert report["previous"]["evaluation"]["rows"] == report["validation"]["rows"]
    assert report["registered"] == {"name": "topics", "version": "v2", "promoted": False}
    assert (registry / "topics" / "CURRENT").read_text().strip() == "v1"
    # Without the guard the continued model becomes current.
    assert train(*resume) == 0
    assert (registry / "topics" / "CURRENT").read_text().strip() == "v3"
    meta = json.loads((registry / "topics" / "v3" / "textlens_model.json").read_text())
    assert meta["training"]["config"]["init_from"] == str(registry / "topics" / "v1")


def test_resume_refuses_new_labels(
    train: Callable[..., int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = tmp_path / "registry"
    assert train("--register", "topics", "--registry", str(registry)) == 0
    query = "SELECT body AS text, CASE WHEN topic = 'money' THEN 'finance' ELSE topic END AS label FROM tickets WHERE labelled"
    code = train("--resume-from", "topics", "--registry", str(registry), query=query)
    assert code == 2 and "['finance'] are not labels of the model" in capsys.readouterr().err
    assert (registry / "topics" / "CURRENT").read_text().strip() == "v1"
    assert not (registry / "topics" / "v2").exists()
