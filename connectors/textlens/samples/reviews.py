"""Synthetic product reviews for the demo and the DuckDB benchmark (fixed seed).

Each review has a date, a product, a 1-5 star rating and text whose tone
matches the stars: the templates are written per rating band, mention brands,
shops, cities and people (so `entities()` has something to find), and run one
to four sentences, like real reviews. One product gets worse after a firmware
update in the spring, so "average sentiment per product per month" has a story,
and the update's first two weeks bring a flood of angry reviews, so "negative
share by week" has a spike a dashboard must make obvious.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

#: (product, brand)
PRODUCTS = [
    ("Aero blender", "Philips"),
    ("QuietComfort headphones", "Bose"),
    ("Smart kettle", "Breville"),
    ("Mesh router", "Netgear"),
    ("Ergo office chair", "Herman Miller"),
    ("Slim phone case", "Spigen"),
    ("Arc desk lamp", "IKEA"),
    ("Robot vacuum", "iRobot"),
]
#: The product whose reviews turn sour after DECLINE_FROM (a bad firmware update).
DECLINING = "Mesh router"
DECLINE_FROM = dt.date(2025, 4, 7)
#: The update's first two weeks [start, end): routers drop offline, owners write in anger.
INCIDENT = (DECLINE_FROM, DECLINE_FROM + dt.timedelta(days=14))
#: Share of all reviews that are incident reviews of DECLINING (about 6x its usual weekly volume).
INCIDENT_SHARE = 0.06
SHOPS = ["Amazon", "Best Buy", "Target", "Walmart", "Costco", "John Lewis", "MediaMarkt"]
CITIES = ["Chicago", "Berlin", "London", "Seattle", "Toronto", "Madrid", "Sydney", "Dublin"]
PEOPLE = ["Maria", "James", "Priya", "Tom", "Sofia", "Daniel", "Aiko", "Lukas"]
WHO = ["my wife", "my son", "the office", "my kitchen", "my dad", "myself", "our flat"]
WHEN = ["last month", "two weeks ago", "before Christmas", "in the summer", "on Black Friday"]

OPENERS = [
    "I bought the {brand} {product} for {who} {when}.",
    "Ordered the {product} from {shop} after reading a lot of reviews.",
    "This is my second {brand} product, picked up at {shop} in {city}.",
    "Got the {product} on sale at {shop}.",
    "My friend {person} recommended the {brand} {product}.",
    "We have been using the {product} in our {city} apartment for a while now.",
]
POSITIVE = [
    "It works perfectly and the build quality is excellent.",
    "Setup took five minutes and it has been flawless since.",
    "Honestly the best purchase I have made this year.",
    "It is fast, quiet and looks great on the desk.",
    "{person} from {brand} support answered within an hour and sorted everything out.",
    "Delivery to {city} was quick and the packaging was perfect.",
    "Battery life is great and it charges quickly.",
    "Everyone at home loves it.",
]
NEGATIVE = [
    "It stopped working after two weeks and support never replied.",
    "The plastic feels cheap and one button already broke.",
    "Shipping took a month and the box arrived damaged.",
    "Terrible instructions, and it overheats constantly.",
    "{brand} support kept me on hold for an hour and then hung up.",
    "It disconnects every few hours since the last firmware update.",
    "Complete waste of money, I regret buying it.",
    "{shop} refused the return, which made it even worse.",
]
MIXED = [
    "The design is nice, but the app keeps disconnecting.",
    "Good value for the price, though the cable is far too short.",
    "It does the job, nothing more, nothing less.",
    "Works fine most days, but it is louder than I expected.",
    "Decent, but the {brand} app is clunky.",
]
CLOSERS = {
    5: ["Would recommend!", "Five stars.", "Buying another one for {person}.", ""],
    4: ["Would recommend.", "Four stars, only because of the price.", ""],
    3: ["Three stars.", "Not sure I would buy again.", "It is okay.", ""],
    2: ["Two stars.", "Not sure I would buy again.", "Disappointed.", ""],
    1: ["Returning it.", "Avoid.", "One star is generous.", ""],
}
#: Share of each rating among reviews, roughly what shops show.
RATING_WEIGHTS = {5: 0.40, 4: 0.24, 3: 0.12, 2: 0.09, 1: 0.15}


@dataclass(frozen=True)
class Review:
    review_id: int
    review_date: dt.date
    product: str
    brand: str
    rating: int
    review: str


def _rating(rng: random.Random, product: str, day: dt.date) -> int:
    ratings, weights = zip(*RATING_WEIGHTS.items(), strict=True)
    if product == DECLINING and INCIDENT[0] <= day < INCIDENT[1]:
        weights = (0.01, 0.02, 0.04, 0.18, 0.75)
    elif product == DECLINING and day >= DECLINE_FROM:
        weights = (0.10, 0.10, 0.15, 0.25, 0.40)
    return int(rng.choices(ratings, weights)[0])


def _day_and_product(
    rng: random.Random, start: dt.date, days: int
) -> tuple[dt.date, tuple[str, str]]:
    """Uniform over the period and the products, except the incident's burst of reviews."""
    covers_incident = start <= INCIDENT[0] and INCIDENT[1] <= start + dt.timedelta(days=days)
    if covers_incident and rng.random() < INCIDENT_SHARE:
        day = INCIDENT[0] + dt.timedelta(days=rng.randrange((INCIDENT[1] - INCIDENT[0]).days))
        return day, next(p for p in PRODUCTS if p[0] == DECLINING)
    return start + dt.timedelta(days=rng.randrange(days)), rng.choice(PRODUCTS)


def _text(rng: random.Random, product: str, brand: str, rating: int) -> str:
    body = POSITIVE if rating >= 4 else NEGATIVE if rating <= 2 else MIXED
    sentences = [
        rng.choice(OPENERS),
        *rng.sample(body, k=rng.randint(1, 3 if rating != 3 else 2)),
        rng.choice(CLOSERS[rating]),
    ]
    fill = {
        "brand": brand,
        "product": product,
        "shop": rng.choice(SHOPS),
        "city": rng.choice(CITIES),
        "person": rng.choice(PEOPLE),
        "who": rng.choice(WHO),
        "when": rng.choice(WHEN),
    }
    return " ".join(s.format(**fill) for s in sentences if s)


def generate_reviews(
    n: int,
    *,
    seed: int = 7,
    duplicate_fraction: float = 0.0,
    start: dt.date = dt.date(2025, 1, 1),
    days: int = 365,
) -> list[Review]:
    """`n` reviews; a `duplicate_fraction` of them repeat an earlier review.

    A repeat is the same review (product, stars and text) posted again on
    another day, as shops see with copy-pasted and re-submitted reviews. The
    other texts are all distinct, so there are exactly n - round(n *
    duplicate_fraction) distinct texts (n > 1).
    """
    if not 0.0 <= duplicate_fraction < 1.0:
        raise ValueError("duplicate_fraction must be in [0, 1)")
    rng = random.Random(seed)
    duplicates = set(rng.sample(range(1, n), k=round(n * duplicate_fraction))) if n > 1 else set()
    seen: set[str] = set()
    originals: list[Review] = []
    out: list[Review] = []
    for i in range(n):
        day, (product, brand) = _day_and_product(rng, start, days)
        if i in duplicates:
            again = rng.choice(originals)
            out.append(Review(i + 1, max(day, again.review_date), *_fields(again)))
            continue
        rating = _rating(rng, product, day)
        text = _text(rng, product, brand, rating)
        while text in seen:
            text = _text(rng, product, brand, rating)
        seen.add(text)
        review = Review(i + 1, day, product, brand, rating, text)
        originals.append(review)
        out.append(review)
    return out


def _fields(review: Review) -> tuple[str, str, int, str]:
    return review.product, review.brand, review.rating, review.review


def review_texts(n: int, *, seed: int = 7, duplicate_fraction: float = 0.0) -> list[str]:
    """Only the texts of `generate_reviews`."""
    return [r.review for r in generate_reviews(n, seed=seed, duplicate_fraction=duplicate_fraction)]


def create_reviews_table(
    con: duckdb.DuckDBPyConnection,
    table: str = "reviews",
    n: int = 3000,
    *,
    seed: int = 7,
    duplicate_fraction: float = 0.0,
) -> int:
    """(Re)create `table` (review_id, review_date, product, brand, rating, review); returns n."""
    import pyarrow as pa

    rows = generate_reviews(n, seed=seed, duplicate_fraction=duplicate_fraction)
    data = pa.table(
        {
            "review_id": pa.array([r.review_id for r in rows], pa.int64()),
            "review_date": pa.array([r.review_date for r in rows], pa.date32()),
            "product": pa.array([r.product for r in rows], pa.string()),
            "brand": pa.array([r.brand for r in rows], pa.string()),
            "rating": pa.array([r.rating for r in rows], pa.int8()),
            "review": pa.array([r.review for r in rows], pa.string()),
        }
    )
    con.register("_textlens_sample_reviews", data)
    try:
        con.execute(
            f'CREATE OR REPLACE TABLE "{table}" AS '
            "SELECT * FROM _textlens_sample_reviews ORDER BY review_date, review_id"
        )
    finally:
        con.unregister("_textlens_sample_reviews")
    return n
