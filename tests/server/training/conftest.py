"""Tiny labelled data for training tests: learnable in seconds by the tiny random models."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

#: Words of the tiny vocabulary (tests/conftest.py) that mark each topic.
TOPIC_WORDS = {
    "sports": ["game", "team", "cup", "league", "club"],
    "money": ["bank", "market", "price", "company", "inc"],
    "travel": ["paris", "london", "tokyo", "city", "country"],
}
FILLER = ["the", "a", "is", "was", "very", "good", "this", "that", "and", "today"]


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


@pytest.fixture
def topics_db(tmp_path: Path) -> Path:
    """A DuckDB file with `tickets(body, topic, labelled)`: 90 labelled rows, 10 unlabelled."""
    import duckdb

    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE tickets (body VARCHAR, topic VARCHAR, labelled BOOLEAN)")
    rows = [(t, lab, True) for t, lab in topic_rows(90)]
    rows += [(t, None, False) for t, _ in topic_rows(10, seed=1)]
    con.executemany("INSERT INTO tickets VALUES (?, ?, ?)", rows)
    con.close()
    return db
