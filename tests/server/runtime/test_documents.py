"""Document sentiment from sentences: what is split, and the opinion-weighted mean."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def test_a_text_that_fits_is_read_whole_and_by_sentence() -> None:
    from textlens.server.runtime.documents import Reading, document, readings

    asked: list[list[str]] = []

    def fits(texts: Sequence[str]) -> list[bool]:
        asked.append(list(texts))
        return [len(t) < 20 for t in texts]

    texts = ["Good. Bad.", "One sentence only", "A long first one. And a second one."]
    assert readings(texts, fits) == [
        Reading(["Good. Bad.", "Good.", "Bad."], whole=True),
        Reading(["One sentence only"]),
        Reading(["A long first one.", "And a second one."]),
    ]
    assert asked == [["Good. Bad.", "A long first one. And a second one."]]  # one call
    # Read both ways: the mean of the whole text's and the sentences' combined probabilities.
    whole, fact, angry = _r(0.1, 0.8, 0.1), _r(0.01, 0.98, 0.01), _r(0.95, 0.04, 0.01)
    both = document(Reading(["t", "s1", "s2"], whole=True), [whole, fact, angry])
    by_sentence = combine([fact, angry])
    want = (whole.probabilities["negative"] + by_sentence.probabilities["negative"]) / 2
    assert both.probabilities["negative"] == pytest.approx(want)
    assert both.label == "negative" and sum(both.probabilities.values()) == pytest.approx(1.0)
    assert document(Reading(["s1", "s2"]), [fact, angry]) == by_sentence


def test_a_real_model_reads_what_fits_whole(tiny_sentence_registry: Any) -> None:
    """A short two-sentence text is 1 + 2 rows; a text over the window one row per sentence."""
    from textlens.server.runtime.analyzer import Analyzer

    registry = tiny_sentence_registry
    analyzer = Analyzer(registry)
    try:
        served = registry.models["tiny"]
        long = " ".join(f"Sentence {k} is about the battery life." for k in range(30))
        assert served.model.fits(["Good. Bad.", long, "x" * 1_000_000]) == [True, False, False]
        before = served.batcher.stats.batch_rows
        results = analyzer.sentiment(["Good. Bad.", long]).result(timeout=60)
        assert len(results) == 2
        assert served.batcher.stats.batch_rows - before == (1 + 2) + 30
    finally:
        analyzer.close()
