"""aspect_sentiment, aspect_sentiment_scores and entity_sentiment on the tiny models, both modes.

What the tiny random models answer is meaningless; what is checked is the
contract: NULLs, mentions, the empty string, repeated aspects, long texts,
the per-pair cache and equality between modes. `test_default_models.py`
checks answers that must make sense.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.connectors.duckdb.helpers import LONG, assert_equal, column, with_texts

Registered = Callable[..., tuple[Any, Any]]
REVIEWS: list[str | None] = [
    "the price is good but the service was bad",
    None,
    "",
    "the price is good but the service was bad",
    "The PRICES went up; service is fine",
    LONG,
]
LABELS = {"negative", "positive"}  # the tiny sequence model's labels


def test_aspects_map_mentions_and_nulls(registered: Registered, mode: str) -> None:
    con, _ = registered(mode, models={"aspect": "tiny-aspect"})
    with_texts(con, REVIEWS)
    maps = column(con, "aspect_sentiment(review, ['price', 'service', 'delivery'])")
    scores = column(con, "aspect_sentiment_scores(review, ['price', 'service', 'delivery'])")
    first, null, empty, again, caps, long = maps
    assert null is None and scores[1] is None
    assert list(first) == ["price", "service", "delivery"]  # the list's order
    assert first["price"] in LABELS and first["service"] in LABELS
    assert first["delivery"] is None and scores[0]["delivery"] is None  # not mentioned
    assert again == first and scores[3] == scores[0]  # duplicate rows, one answer
    assert empty == {"price": None, "service": None, "delivery": None}
    assert caps["price"] in LABELS and caps["service"] in LABELS  # plural, any case
    assert long["service"] is None and long["price"] is None  # LONG mentions neither
    for row in scores:
        for value in (row or {}).values():
            assert value is None or -1.0 <= value <= 1.0


def test_aspect_list_edge_cases(registered: Registered, mode: str) -> None:
    con, _ = registered(mode, models={"aspect": "tiny-aspect"})
    one = con.execute(
        "SELECT aspect_sentiment('the price is good', []),"
        " aspect_sentiment('the price is good', NULL),"
        " aspect_sentiment('the price is good', ['price', 'price', 'PRICE']),"
        " aspect_sentiment('the price is good', ['', '  ']),"
        " aspect_sentiment('the price is good', ['price'], 'tiny-aspect')"
    ).fetchone()
    assert one[0] == {} and one[1] is None
    assert list(one[2]) == ["price", "PRICE"] and one[2]["price"] == one[2]["PRICE"]
    assert one[3] == {"": None, "  ": None}
    assert one[4] == {"price": one[2]["price"]}


def test_long_text_under_both_policies(registered: Registered, mode: str) -> None:
    import duckdb

    con, _ = registered(mode, models={"aspect": "tiny-aspect"})
    text = "the movie was good " + LONG
    assert con.execute("SELECT aspect_sentiment(?, ['movie'])", [text]).fetchone()[0]["movie"]
    strict, _ = registered(mode, models={"aspect": "tiny-aspect"}, truncation="error")
    with pytest.raises(duckdb.Error, match=r"TextTooLong.*at most 128"):
        strict.execute("SELECT aspect_sentiment(?, ['movie'])", [text]).fetchone()


def test_pairs_are_cached_one_by_one(registered: Registered, mode: str) -> None:
    con, tl = registered(mode, models={"aspect": "tiny-aspect"})
    text = "the price is good but the service was bad and the screen too"
    tl.reset_stats()
    first = con.execute("SELECT aspect_sentiment(?, ['price', 'service'])", [text]).fetchone()[0]
    assert tl.stats().computed == 2
    second = con.execute("SELECT aspect_sentiment(?, ['service', 'screen'])", [text]).fetchone()[0]
    stats = tl.stats()
    assert stats.computed == 3 and stats.hits == 1  # 'service' came from the cache
    assert second["service"] == first["service"]


def test_entity_sentiment_follows_entities(registered: Registered, mode: str) -> None:
    con, _ = registered(mode, models={"aspect": "tiny-aspect", "entities": "tiny-ner"})
    texts: list[str | None] = [
        "john smith met mary in paris and london",
        None,
        "",
        "google and microsoft in tokyo",
    ]
    with_texts(con, texts)
    spans = column(con, "entities(review)")
    with_sentiment = column(con, "entity_sentiment(review)")
    assert with_sentiment[1] is None and with_sentiment[2] == []
    for plain, rich in zip(spans, with_sentiment, strict=True):
        if plain is None:
            continue
        assert [{k: e[k] for k in plain[0]} for e in rich] == plain if plain else rich == []
        for e in rich:
            assert e["sentiment"] in LABELS and -1.0 <= e["sentiment_score"] <= 1.0
    # The model argument names the aspect model.
    assert column(con, "entity_sentiment(review, 'tiny-aspect')") == with_sentiment


def test_unknown_and_wrong_models_are_sql_errors(registered: Registered, mode: str) -> None:
    import duckdb

    con, _ = registered(mode)
    with pytest.raises(duckdb.Error, match="no model named 'nope'"):
        con.execute("SELECT aspect_sentiment('the price', ['price'], 'nope')").fetchone()
    with pytest.raises(duckdb.Error, match="serves sentiment, not aspect"):
        con.execute("SELECT aspect_sentiment('the price', ['price'], 'tiny-sentiment')").fetchone()


def test_target_functions_equal_between_modes(registered: Registered) -> None:
    embedded, _ = registered("embedded", models={"aspect": "tiny-aspect"})
    remote, _ = registered("remote", models={"aspect": "tiny-aspect"})
    for con in (embedded, remote):
        with_texts(con, REVIEWS)
    for sql in (
        "aspect_sentiment(review, ['price', 'service'])",
        "aspect_sentiment_scores(review, ['price', 'service'])",
        "entity_sentiment(review)",
    ):
        assert_equal(column(embedded, sql), column(remote, sql), sql)
