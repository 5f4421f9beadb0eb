"""Training promises of the README with no test of their own: class weighting, early
stopping that keeps the best weights, the progress bar, `--keep-duplicates`, and
`--promote-if-better` when the new version wins."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch", reason="training needs the `models` extra")

from tests.server.training.helpers import topic_rows  # noqa: E402
from textlens.cli import main  # noqa: E402
from textlens.server.training.loop import class_weights, fit  # noqa: E402
from textlens.server.training.trainer import TrainConfig  # noqa: E402

TINY = ["--epochs", "1", "--max-length", "24", "--batch-size", "8", "--threads", "1"]


def test_class_weights_switch_on_at_a_1_5x_imbalance() -> None:
    balanced = ["a", "b"] * 10
    assert class_weights(balanced, ["a", "b"], "auto") is None
    assert class_weights(balanced, ["a", "b"], "none") is None
    assert torch.allclose(class_weights(balanced, ["a", "b"], "balanced"), torch.ones(2))
    skewed = ["a"] * 30 + ["b"] * 10
    weights = class_weights(skewed, ["a", "b"], "auto")
    assert weights is not None and float(weights.mean()) == pytest.approx(1.0)
    assert float(weights[1] / weights[0]) == pytest.approx(3.0)  # inverse frequency
    assert class_weights(["a"] * 14 + ["b"] * 10, ["a", "b"], "auto") is None  # 1.4x
    with pytest.raises(ValueError, match="auto, balanced or none"):
        class_weights(skewed, ["a", "b"], "sometimes")


class Head(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x: Any) -> Any:
        return self.head(x)


def test_early_stopping_keeps_the_weights_of_the_best_evaluation() -> None:
    """Scores 0.5, 0.9, 0.4, 0.3: patience 2 stops after the fourth evaluation, and the
    network ends with the weights it had at the second (the best), not the last."""
    torch.manual_seed(0)
    network = Head()
    scores = iter([0.5, 0.9, 0.4, 0.3, 0.2, 0.1, 0.0, 0.0, 0.0, 0.0])
    snapshots: list[torch.Tensor] = []

    def evaluate() -> tuple[float, dict[str, Any]]:
        snapshots.append(network.head.weight.detach().clone())
        score = next(scores)
        return score, {"score": score}

    x, y = torch.randn(8, 4), torch.tensor([0, 1] * 4)
    cfg = TrainConfig(base="unused", epochs=10, batch_size=4, lr=0.1, evals_per_epoch=1)
    report, curve, _ = fit(
        network,  # type: ignore[arg-type]  # any module whose forward takes the encoded batch
        cfg,
        8,
        lambda rng: [[0, 1, 2, 3], [4, 5, 6, 7]],
        lambda batch: ({"x": x[batch]}, y[batch]),
        evaluate,
        torch.device("cpu"),
    )
    assert [p["score"] for p in curve] == [0.5, 0.9, 0.4, 0.3]  # stopped: patience 2
    assert report["score"] == 0.9
    assert not torch.equal(snapshots[1], snapshots[3])  # training moved the weights on
    assert torch.equal(network.head.weight.detach(), snapshots[1])


@pytest.fixture
def train(tiny_models_dir: dict[str, Path], tmp_path: Path) -> Callable[..., int]:
    """`textlens train` over a DuckDB file of `rows` (text, label) on the tiny encoder."""

    def run(rows: list[tuple[str, str]], *args: str, base: str = "") -> int:
        import duckdb

        db = tmp_path / "train.duckdb"
        with duckdb.connect(str(db)) as con:
            con.execute("CREATE OR REPLACE TABLE t (text VARCHAR, label VARCHAR)")
            con.executemany("INSERT INTO t VALUES (?, ?)", rows)
        base = base or str(tiny_models_dir["tiny-encoder"])
        query = "SELECT text, label FROM t"
        return main(["train", "--db", str(db), "--query", query, "--base", base, *TINY, *args])

    return run


def test_keep_duplicates_keeps_repeats_and_empty_texts(
    train: Callable[..., int], tmp_path: Path
) -> None:
    rows = topic_rows(60)
    with_repeats = rows + rows[:12] + [("", "money"), ("", "sports")]
    assert train(with_repeats, "--out", str(tmp_path / "dedup")) == 0
    assert train(with_repeats, "--out", str(tmp_path / "kept"), "--keep-duplicates") == 0
    counts = {}
    for name in ("dedup", "kept"):
        report = json.loads((tmp_path / name / "report.json").read_text())
        counts[name] = report["train_rows"] + report["valid_rows"]
    assert counts == {"dedup": 60, "kept": 74}


def test_promote_if_better_promotes_a_better_version_and_shows_progress(
    train: Callable[..., int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the real base (the tiny random encoder cannot learn topics): v1 learns nothing
    (lr 0), so the continued, really trained v2 beats it and becomes current."""
    registry = tmp_path / "registry"
    rows = topic_rows(60)
    base = "builtin:minilm"
    first = ["--register", "topics", "--registry", str(registry), "--lr", "0"]
    assert train(rows, *first, "--max-length", "16", base=base) == 0
    capsys.readouterr()
    resume = ["--resume-from", "topics", "--registry", str(registry), "--promote-if-better"]
    assert (
        train(rows, *resume, "--lr", "3e-3", "--epochs", "2", "--max-length", "16", base=base) == 0
    )
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "batch" in err and "100%" in err  # the tqdm bar
    report = json.loads((registry / "topics" / "v2" / "report.json").read_text())
    assert report["improvement"] > 0, (report["score"], report["previous"]["score"])
    assert report["registered"] == {"name": "topics", "version": "v2", "promoted": True}
    assert (registry / "topics" / "CURRENT").read_text().strip() == "v2"
