"""The committed defaults are `textlens train` jobs: same rows, same split, same command."""

from __future__ import annotations

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
    assert {label for _, label in train} == {"negative", "neutral", "positive"}
    assert not {t for t, _ in train} & {t for t, _ in valid}
    by_source = sentiment_mix.rows_by_source(sentiment_mix.valid_sql(shared_data))
    assert set(by_source) == {"sst2", "sst5", "tfns", "sentfin"}
    assert all(len(rows) > 300 for rows in by_source.values())
    # Only SEntFiN headlines whose entities agree: no headline with two labels.
    sentfin = sentiment_mix.rows_by_source(sentiment_mix.train_sql(shared_data))["sentfin"]
    assert len({t for t, _ in sentfin}) == len(sentfin)
    # The aspect model holds out exactly the same SEntFiN headlines.
    aspect = aspect_job(shared_data, tmp_path / "aspect-minilm", cfg, None)
    _, aspect_valid, _ = load_job_data(aspect)
    assert {t for (t, _), _ in aspect_valid} >= {t for t, _ in by_source["sentfin"]}
    command = train_command(job)
    assert command.startswith('textlens train --task sentiment --query "SELECT text, label')
    assert '--valid-query "SELECT' in command and "--out models/sentiment-minilm" in command


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
