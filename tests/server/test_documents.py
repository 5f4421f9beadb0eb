"""Document sentiment from sentences: the split and the opinion-weighted mean (no model)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="the runtime needs the `models` extra")

from textlens.client.results import SentimentResult
from textlens.server.runtime.documents import combine, sentences


def _r(neg: float, neu: float, pos: float) -> SentimentResult:
    probs = {"negative": neg, "neutral": neu, "positive": pos}
    return SentimentResult(
        label=max(probs, key=lambda k: probs[k]), score=pos - neg, probabilities=probs
    )


def test_sentences_split_at_ends_not_at_abbreviations() -> None:
    assert sentences("I bought it. It broke! Avoid?") == ["I bought it.", "It broke!", "Avoid?"]
    assert sentences("U.S. stocks fell 3.5% on Friday.") == ["U.S. stocks fell 3.5% on Friday."]
    assert sentences("line one\nline two") == ["line one", "line two"]
    assert sentences("") == [""] and sentences("one sentence") == ["one sentence"]
    assert sentences(". " * 100 + "X") != [] and len(sentences("A. " * 100)) == 1  # too many


def test_opinions_outweigh_facts_and_facts_alone_stay_neutral() -> None:
    fact, angry, mild = _r(0.01, 0.98, 0.01), _r(0.95, 0.04, 0.01), _r(0.2, 0.5, 0.3)
    doc = combine([fact, angry, fact])
    assert doc.label == "negative" and doc.score < -0.7
    assert combine([fact, fact]).label == "neutral"
    assert sum(combine([fact, mild, angry]).probabilities.values()) == pytest.approx(1.0)
    assert combine([angry]) is angry
    two_class = SentimentResult("positive", 0.8, {"negative": 0.1, "positive": 0.9})
    plain = combine(
        [two_class, SentimentResult("negative", -0.4, {"negative": 0.7, "positive": 0.3})]
    )
    assert plain.probabilities["positive"] == pytest.approx(0.6)  # no neutral: a plain mean
