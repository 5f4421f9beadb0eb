"""Helpers the tests of tests/server/training share (import them; conftest.py holds only fixtures)."""

from __future__ import annotations

import random


def topic_rows(
    n: int, seed: int = 0, topics: dict[str, list[str]] | None = None
) -> list[tuple[str, str]]:
    """(text, topic) rows: a few topic words among filler words."""
    rng = random.Random(seed)
    pool = topics or TOPIC_WORDS
    rows = []
    for i in range(n):
        topic = list(pool)[i % len(pool)]
        words = [rng.choice(pool[topic]) for _ in range(3)] + rng.sample(FILLER, 4)
        rng.shuffle(words)
        rows.append((" ".join(words) + f" {i}", topic))
    return rows


#: Words of the tiny vocabulary (tests/conftest.py) that mark each topic.
TOPIC_WORDS = {
    "sports": ["game", "team", "cup", "league", "club"],
    "money": ["bank", "market", "price", "company", "inc"],
    "travel": ["paris", "london", "tokyo", "city", "country"],
}


FILLER = ["the", "a", "is", "was", "very", "good", "this", "that", "and", "today"]
