"""Synthetic but realistic product reviews for benchmarks (fixed seed)."""

from __future__ import annotations

import random

OPENERS = [
    "I bought this {product} for my {who} last {when}.",
    "Ordered the {product} after reading a lot of reviews.",
    "This is my second {product} from this brand.",
    "Picked up the {product} on sale.",
]
GOOD = [
    "It works perfectly and the build quality is excellent.",
    "Setup took five minutes and it has been flawless since.",
    "Battery life is great and it charges quickly.",
    "Honestly the best purchase I have made this year.",
]
BAD = [
    "It stopped working after two weeks and support never replied.",
    "The plastic feels cheap and one button already broke.",
    "Shipping took a month and the box arrived damaged.",
    "Terrible instructions, and it overheats constantly.",
]
MIXED = [
    "The design is nice, but the app keeps disconnecting.",
    "Good value for the price, though the cable is far too short.",
]
CLOSERS = ["Would recommend.", "Returning it.", "Three stars.", "", "Not sure I would buy again."]
PRODUCTS = ["blender", "headphones", "kettle", "router", "office chair", "phone case", "desk lamp"]
WHO = ["wife", "son", "office", "kitchen", "dad"]
WHEN = ["month", "week", "Christmas", "summer"]


def reviews(n: int, seed: int = 7, duplicate_fraction: float = 0.0) -> list[str]:
    """`n` reviews; a `duplicate_fraction` of them repeat earlier ones."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(n):
        if out and rng.random() < duplicate_fraction:
            out.append(rng.choice(out))
            continue
        body = rng.choice([GOOD, BAD, MIXED])
        parts = [
            rng.choice(OPENERS).format(
                product=rng.choice(PRODUCTS), who=rng.choice(WHO), when=rng.choice(WHEN)
            ),
            *rng.sample(body, k=min(len(body), rng.randint(1, 2))),
            rng.choice(CLOSERS),
        ]
        out.append(" ".join(p for p in parts if p))
    return out
