"""`--base auto`: the sentiment model for polarity labels, the bare encoder otherwise."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="training needs the `models` extra")

from textlens.server.training.pipeline import auto_base


@pytest.mark.parametrize(
    ("task", "labels", "base"),
    [
        ("classify", ["positive", "negative", "neutral"], "builtin:sentiment-minilm"),
        ("sentiment", ["Positive", "Negative"], "builtin:sentiment-minilm"),
        ("aspect", ["positive", "neutral", "negative"], "builtin:sentiment-minilm"),
        ("classify", ["billing", "shipping"], "builtin:minilm"),
        ("classify", ["positive", "negative", "spam"], "builtin:minilm"),
        ("classify", ["positive"], "builtin:minilm"),
        ("ner", ["positive", "negative"], "builtin:minilm"),
    ],
)
def test_auto_base(task: str, labels: list[str], base: str) -> None:
    rows = [(f"text {i}", label) for i, label in enumerate(labels)]
    assert auto_base(task, rows) == base
