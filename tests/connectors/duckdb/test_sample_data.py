"""The generated reviews behind the demo and the benchmark."""

from __future__ import annotations

import datetime as dt

import pytest

from textlens.samples.reviews import (
    DECLINE_FROM,
    DECLINING,
    INCIDENT,
    NEGATIVE,
    POSITIVE,
    create_reviews_table,
    generate_reviews,
    review_texts,
)


def test_fixed_seed_and_exact_duplicate_fraction() -> None:
    assert review_texts(500) == review_texts(500)
    assert review_texts(500) != review_texts(500, seed=8)
    assert len(set(review_texts(2000))) == 2000
    assert len(set(review_texts(2000, duplicate_fraction=0.5))) == 1000
    with pytest.raises(ValueError):
        generate_reviews(10, duplicate_fraction=1.0)


def test_text_matches_the_stars_and_the_story() -> None:
    reviews = generate_reviews(3000)
    positive = {s.split("{")[0] for s in POSITIVE if not s.startswith("{")}
    negative = {s.split("{")[0] for s in NEGATIVE if not s.startswith("{")}
    for r in reviews:
        if r.rating >= 4:
            assert not any(s in r.review for s in negative), r
        if r.rating <= 2:
            assert not any(s in r.review for s in positive), r
    assert all(dt.date(2025, 1, 1) <= r.review_date <= dt.date(2025, 12, 31) for r in reviews)

    def mean_rating(before: bool) -> float:
        picked = [
            r.rating
            for r in reviews
            if r.product == DECLINING and (r.review_date < DECLINE_FROM) == before
        ]
        return sum(picked) / len(picked)

    assert mean_rating(before=True) > mean_rating(before=False) + 1


def test_the_incident_is_a_spike_in_weekly_negative_share() -> None:
    """The dashboard's "negative share by week" chart must have a spike to show."""
    reviews = generate_reviews(3000)
    weeks: dict[int, list[int]] = {}
    for r in reviews:
        weeks.setdefault(r.review_date.isocalendar().week, []).append(r.rating)
    share = {w: sum(x <= 2 for x in ratings) / len(ratings) for w, ratings in weeks.items()}
    spike = {
        INCIDENT[0].isocalendar().week,
        (INCIDENT[1] - dt.timedelta(days=1)).isocalendar().week,
    }
    others = sorted(v for w, v in share.items() if w not in spike)
    assert min(share[w] for w in spike) > 2 * others[len(others) // 2]
    assert min(share[w] for w in spike) > max(others)


def test_table_columns() -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    create_reviews_table(con, "r", 50)
    assert [c[0] for c in con.execute("DESCRIBE r").fetchall()] == [
        "review_id",
        "review_date",
        "product",
        "brand",
        "rating",
        "review",
    ]
    assert con.execute("SELECT count(*), min(rating) >= 1, max(rating) <= 5 FROM r").fetchone() == (
        50,
        True,
        True,
    )
