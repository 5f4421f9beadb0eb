"""Training on several sources (`training.mixture`, `textlens train --source-column`)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="training needs the `models` extra")
pytest.importorskip("matplotlib", reason="reports need matplotlib (the `models` extra)")

from tests.server.training.helpers import topic_rows  # noqa: E402
from textlens.cli import main  # noqa: E402
from textlens.server.training.mixture import (  # noqa: E402
    MixRecipe,
    epoch_indices,
    mixture_loss,
    source_quotas,
    worst_source,
)

#: The tiny models' topic words stand in for polarity: learnable in seconds.
AS_POLARITY = {"sports": "positive", "money": "negative", "travel": "neutral"}


def test_quotas_follow_alpha_and_fill_the_epoch() -> None:
    sizes = {"big": 9000, "small": 100, "mid": 900}
    pooled = source_quotas(sizes, 1.0, 1000)
    equal = source_quotas(sizes, 0.0, 1000)
    sqrt = source_quotas(sizes, 0.5, 1000)
    assert sum(pooled.values()) == sum(equal.values()) == sum(sqrt.values()) == 1000
    assert pooled == {"big": 900, "small": 10, "mid": 90}
    assert max(equal.values()) - min(equal.values()) <= 1
    assert pooled["small"] < sqrt["small"] < equal["small"]
    boosted = source_quotas(sizes, 1.0, 1000, {"small": 10.0})
    assert boosted["small"] in (91, 92) and sum(boosted.values()) == 1000  # 1000 * 1000 / 10900


def test_an_epoch_repeats_a_small_source_only_after_using_all_of_it() -> None:
    picked = epoch_indices({"a": [0, 1, 2], "b": [3, 4]}, {"a": 7, "b": 2}, random.Random(0))
    a = [i for i in picked if i < 3]
    assert len(a) == 7 and sorted(a[:3]) == [0, 1, 2] and sorted(a[3:6]) == [0, 1, 2]
    assert sorted(i for i in picked if i >= 3) == [3, 4]


def test_pair_loss_never_moves_the_neutral_logit() -> None:
    labels = ["negative", "neutral", "positive"]
    loss = mixture_loss(labels, 0.0, None)
    for pair, neutral_moves in ((1, False), (0, True)):
        logits = torch.tensor([[0.2, 1.5, -0.3], [1.0, 0.1, 0.0]], requires_grad=True)
        targets = torch.tensor([[2, pair], [0, pair]])
        loss(logits, targets).backward()
        assert logits.grad is not None
        assert bool(logits.grad[:, 1].abs().sum() > 0) is neutral_moves
        # Either way the right polarity gains on the wrong one.
        assert logits.grad[0, 2] < 0 and logits.grad[1, 0] < 0


def test_worst_source_is_the_minimum_of_the_selected() -> None:
    scores = {"a": {"macro_f1": 0.9}, "b": {"macro_f1": 0.6}, "c": {"macro_f1": 0.4}}
    assert worst_source(scores, ["a", "b"]) == ("b", 0.6)


def test_recipe_refuses_unknown_losses() -> None:
    with pytest.raises(ValueError, match="polar/self loss"):
        MixRecipe(polar_loss="ignore")


def _sourced_db(tmp_path: Path, null_source: bool = False) -> Path:
    import duckdb

    db = tmp_path / "mixed.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE posts (text VARCHAR, label VARCHAR, source VARCHAR)")
    rows = [(t, AS_POLARITY[lab], "desk") for t, lab in topic_rows(90)]
    polar = [(t, AS_POLARITY[lab], "forum") for t, lab in topic_rows(60, seed=3)]
    rows += [r for r in polar if r[1] != "neutral"]  # a source without a neutral class
    if null_source:
        rows.append(("the game was good 999", "positive", None))
    con.executemany("INSERT INTO posts VALUES (?, ?, ?)", rows)
    con.close()
    return db


def test_train_by_source_end_to_end(tiny_models_dir: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "model"
    argv = [
        "train", "--task", "sentiment", "--db", str(_sourced_db(tmp_path)),
        "--query", "SELECT * FROM posts", "--base", str(tiny_models_dir["tiny-encoder"]),
        "--epochs", "2", "--max-length", "24", "--batch-size", "8", "--threads", "1",
        "--method", "full", "--lr", "1e-3", "--valid-fraction", "0.25",
        "--source-column", "source", "--mix-alpha", "0", "--epoch-rows", "64",
        "--polar-sources", "forum", "--polar-loss", "pair", "--out", str(out),
        "--select-min-class-rows", "3",
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    meta = json.loads((out / "textlens_model.json").read_text())
    mixture = meta["training"]["mixture"]
    assert mixture["quotas"] == {"desk": 32, "forum": 32}  # alpha 0: equal shares
    assert mixture["recipe"]["polar_loss"] == "pair"
    by_source = mixture["by_source"]
    assert set(by_source) == {"desk", "forum"}
    assert "neutral_recall" in by_source["desk"] and "sign_accuracy" in by_source["forum"]
    # The kept checkpoint is chosen on the only source with every class.
    assert mixture["selected_on"] == ["desk"]
    assert report["validation"]["worst_source"] == "desk"
    assert report["validation"]["worst_macro_f1"] == by_source["desk"]["macro_f1"]
    assert meta["training"]["train_rows"] + meta["training"]["valid_rows"] == 90 + 40


def test_null_source_is_refused_before_any_model_loads(tmp_path: Path) -> None:
    from textlens.server.training.sources import Source, TrainingDataError, sourced_text_rows

    db = _sourced_db(tmp_path, null_source=True)
    with pytest.raises(TrainingDataError, match=r"NULL 'source' \(rows 131\)"):
        sourced_text_rows(Source(query="SELECT * FROM posts", db=db), "text", "label", "source")


def test_pair_loss_needs_polarity_labels(tiny_models_dir: dict[str, Path], tmp_path: Path) -> None:
    from textlens.server.training.mixture import train_mixture
    from textlens.server.training.trainer import TrainConfig

    rows = [(t, lab, "a" if i % 2 else "b") for i, (t, lab) in enumerate(topic_rows(30))]
    cfg = TrainConfig(base=str(tiny_models_dir["tiny-encoder"]), epochs=1)
    with pytest.raises(ValueError, match="needs 'positive' and 'negative'"):
        train_mixture(
            rows,
            rows,
            "classify",
            tmp_path / "m",
            cfg,
            MixRecipe(polar_sources=("a",), polar_loss="pair"),
        )


def test_cli_defaults_are_the_recipe_defaults() -> None:
    import argparse

    from textlens.cli.train import _mixture, add_train_parser

    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers())
    args = parser.parse_args(["train", "--query", "SELECT 1", "--source-column", "feed"])
    assert _mixture(args) == MixRecipe()
    plain = parser.parse_args(["train", "--query", "SELECT 1"])
    assert _mixture(plain) is None
    weighted = parser.parse_args(
        [
            "train",
            "--source-column",
            "feed",
            "--source-weight",
            "reviews=2",
            "--source-weight",
            "x=0.5",
        ]
    )
    assert _mixture(weighted).source_weights == (("reviews", 2.0), ("x", 0.5))
    for bad in ("reviews", "reviews=abc", "=2", "reviews=0"):
        wrong = parser.parse_args(["train", "--source-column", "feed", "--source-weight", bad])
        with pytest.raises(SystemExit, match="SOURCE=FACTOR"):
            _mixture(wrong)
