"""A star rating a text states decides its reading (issue 25, item 7: "One star is
generous." read +0.95 positive, and a one-star review came out positive)."""

from __future__ import annotations

from typing import Any

import pytest

from textlens.contract.results import SentimentResult
from textlens.server.runtime.ratings import rated, stated_rating

POLAR = SentimentResult("positive", 0.9, {"negative": 0.02, "neutral": 0.06, "positive": 0.92})


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("One star is generous.", 1),
        ("Two stars.", 2),
        ("a 90-minute, four-star movie", 4),
        ("Apple is a 5 star company.", 5),
        ("ZERO STARS", 0),
        ("Five stars. Would recommend, five stars!", 5),  # the same rating twice
        ("a four star performance with a two star script", None),  # two ratings: the model's
        ("Watchlist 4/5", None),  # fractions are splits and thread numbers in finance posts
        ("another 4 out of 5 green day week", None),
        ("the star of the show", None),
        ("a starship and six stars", None),
        ("", None),
    ],
)
def test_stated_rating(text: str, rating: int | None) -> None:
    assert stated_rating(text) == rating


def test_a_rating_replaces_the_reading_of_a_polarity_model() -> None:
    one = rated("One star is generous.", POLAR)
    assert (one.label, one.score) == ("negative", -1.0)
    assert one.probabilities == {"negative": 1.0, "neutral": 0.0, "positive": 0.0}
    three = rated("Three stars.", POLAR)
    assert (three.label, three.score) == ("neutral", 0.0)
    assert rated("It works.", POLAR) is POLAR


def test_other_label_sets_are_left_alone() -> None:
    topics = SentimentResult("joy", 0.8, {"joy": 0.8, "anger": 0.2})
    assert rated("One star.", topics) is topics
    binary = SentimentResult("positive", 0.4, {"negative": 0.3, "positive": 0.7})
    assert rated("Three stars.", binary) is binary  # no neutral label to give it
    assert rated("Two stars.", binary).label == "negative"


def test_served_documents_follow_the_stated_rating(default_served: list[Any]) -> None:
    """The demo's one-star review, through the default model as served (by sentence)."""
    from tests.helpers import rebatch
    from textlens.server.runtime.analyzer import Analyzer

    analyzer = Analyzer(rebatch(s for s in default_served if s.spec.task == "sentiment"))
    try:
        review = (
            "We have been using the QuietComfort headphones in our Berlin apartment for a "
            "while now. It stopped working after two weeks and support never replied. "
            "One star is generous."
        )
        whole, short, plain = analyzer.sentiment([review, "Two stars.", "It works."]).result(60)
        assert isinstance(whole, SentimentResult) and whole.label == "negative", whole
        assert isinstance(short, SentimentResult) and short.score == -1.0
        assert isinstance(plain, SentimentResult) and -1.0 < plain.score < 1.0  # the model's
    finally:
        analyzer.close()


def test_a_tiny_model_served_by_sentence_reads_ratings(tiny_sentence_registry: Any) -> None:
    from textlens.server.runtime.analyzer import Analyzer

    analyzer = Analyzer(tiny_sentence_registry)
    try:
        (doc,) = analyzer.sentiment(["Arrived late. One star is generous."]).result(timeout=60)
        assert doc.label == "negative" and doc.score < -0.5, doc
    finally:
        analyzer.close()
