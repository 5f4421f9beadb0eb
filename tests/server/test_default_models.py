"""The committed default models meet their validation numbers on ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from textlens.server.runtime.registry import ServedModel
from textlens.server.training.data import read_conll
from textlens.server.training.defaults import sentiment_split
from textlens.server.training.metrics import classification_report, span_f1_report
from textlens.server.training.trainer import predict_texts, predict_word_tags


def _model(served: list[ServedModel], task: str) -> ServedModel:
    return next(m for m in served if m.spec.task == task)


def test_sentiment_validation_accuracy(
    default_served: list[ServedModel], shared_data: Path
) -> None:
    loaded = _model(default_served, "sentiment").model.loaded
    _, valid = sentiment_split(shared_data)
    preds = predict_texts(
        loaded.network, loaded.tokenizer, [t for t, _ in valid], loaded.id2label, 64, loaded.device
    )
    report = classification_report([g for _, g in valid], preds, ["negative", "positive"])
    print(f"sentiment validation accuracy {report['accuracy']:.4f} on {report['rows']} rows")
    assert report["accuracy"] >= 0.87


def test_ner_dev_f1(default_served: list[ServedModel], shared_data: Path) -> None:
    loaded = _model(default_served, "ner").model.loaded
    dev = read_conll(shared_data / "conll2003_dev.conll")
    preds = predict_word_tags(
        loaded.network, loaded.tokenizer, [w for w, _ in dev], loaded.id2label, 128, loaded.device
    )
    report = span_f1_report([t for _, t in dev], preds)
    print(
        f"ner dev F1 {report['f1']:.4f}: "
        + ", ".join(f"{k} {v['f1']:.3f}" for k, v in report["per_type"].items())
    )
    assert report["f1"] >= 0.83


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love it", "positive"),
        ("terrible, broke after a day", "negative"),
        ("Best purchase I made this year.", "positive"),
        ("The screen cracked and support ignored me.", "negative"),
    ],
)
def test_obvious_sentiment(default_served: list[ServedModel], text: str, label: str) -> None:
    served = _model(default_served, "sentiment")
    (result,) = served.batcher.submit([text]).result(timeout=60)
    assert result.label == label


def test_merkel_siemens_berlin(default_served: list[ServedModel]) -> None:
    served = _model(default_served, "ner")
    text = "Angela Merkel visited Siemens in Berlin."
    (spans,) = served.batcher.submit([text]).result(timeout=60)
    got = {(e.text, e.label, e.start, e.end) for e in spans}
    assert ("Angela Merkel", "PER", 0, 13) in got
    assert ("Siemens", "ORG", 22, 29) in got
    assert ("Berlin", "LOC", 33, 39) in got
