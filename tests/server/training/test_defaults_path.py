"""The committed defaults are `textlens train` jobs: same rows, same split, same command."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="training needs the `models` extra")

from textlens.server.training import sentiment_mix
from textlens.server.training.defaults import (
    aspect_job,
    binary_sentiment_job,
    ner_job,
    sentiment_job,
    sentiment_split,
    train_command,
)
from textlens.server.training.pipeline import load_job_data
from textlens.server.training.trainer import TrainConfig


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Commands name the torch thread count they train with; these expect 1."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.shared_data
@pytest.mark.usefixtures("one_thread")
def test_binary_job_reads_the_committed_split(shared_data: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(epochs=1, max_length=64, evals_per_epoch=4, patience=3)
    job = binary_sentiment_job(shared_data, tmp_path / "sentiment-binary-minilm", cfg, None)
    train, valid, record = load_job_data(job)
    expected_train, expected_valid = sentiment_split(shared_data, cfg.seed)
    assert train == expected_train and valid == expected_valid
    assert len(valid) == 3348 and record["data"]["rows"] == len(train) + len(valid)
    assert train_command(job) == (
        f"textlens train --task sentiment --data {shared_data / 'sst2_train.csv'} "
        "--valid-fraction 0.05 --epochs 1 --max-length 64 --evals-per-epoch 4 --patience 3 "
        "--threads 1 --out models/sentiment-binary-minilm"
    )


@pytest.mark.shared_data
def test_three_class_mix_holds_out_every_source_without_overlap(
    shared_data: Path, tmp_path: Path
) -> None:
    cfg = TrainConfig(epochs=2, max_length=64, evals_per_epoch=2)
    job = sentiment_job(shared_data, tmp_path / "sentiment-minilm", cfg, None)
    train, valid, _ = load_job_data(job)
    assert {label for _, label, _ in train} == {"negative", "neutral", "positive"}
    assert not {t for t, _, _ in train} & {t for t, _, _ in valid}
    by_source = sentiment_mix.rows_by_source(sentiment_mix.valid_sql(shared_data))
    assert set(by_source) == set(sentiment_mix.SOURCES) and len(by_source) == 10
    # Large sources hold out 5%, the three small ones a fifth: never a handful of rows.
    assert min(len(rows) for rows in by_source.values()) >= 90
    assert {s for _, _, s in train} == set(sentiment_mix.SOURCES)
    # Only SEntFiN headlines whose entities agree: no headline with two labels.
    sentfin = sentiment_mix.rows_by_source(sentiment_mix.train_sql(shared_data))["sentfin"]
    assert len({t for t, _ in sentfin}) == len(sentfin)
    # The aspect model holds out the same texts: its validation has every held-out
    # SEntFiN headline, and none of its training texts is held out by the text mix.
    aspect = aspect_job(shared_data, tmp_path / "aspect-minilm", cfg, None)
    aspect_train, aspect_valid, _ = load_job_data(aspect)
    assert {x[0] for x, _, _ in aspect_valid} >= {t for t, _ in by_source["sentfin"]}
    held_out = {t for rows in by_source.values() for t, _ in rows}
    assert not {x[0] for x, _, _ in aspect_train} & held_out
    assert {s for _, _, s in aspect_train} == {"sentfin", "semeval", "stockemotions", "surge_stock"}
    command = train_command(job)
    args = shlex.split(command)  # the SQL has both quote kinds: it must survive a shell
    assert args[:4] == ["textlens", "train", "--task", "sentiment"]
    assert args[args.index("--query") + 1] == " ".join(sentiment_mix.train_sql(shared_data).split())
    assert args[args.index("--valid-query") + 1].startswith("SELECT text, label, source")
    assert "--out models/sentiment-minilm" in command
    assert "--source-column source" in command and "--polar-sources" in command


@pytest.mark.usefixtures("one_thread")
def test_ner_command(tmp_path: Path) -> None:
    cfg = TrainConfig(epochs=4, lr=1e-3, casing=True, batch_size=16, evals_per_epoch=1)
    job = ner_job(Path("data"), tmp_path / "ner-minilm", cfg, None)
    assert train_command(job) == (
        "textlens train --task ner --data data/conll2003_train.conll --valid-data "
        "data/conll2003_dev.conll --epochs 4 --batch-size 16 --lr 0.001 --evals-per-epoch 1 "
        "--casing --threads 1 "
        "--out models/ner-minilm"
    )
