"""Helpers the tests of tests/server/topics share (import them; conftest.py holds only fixtures)."""

from __future__ import annotations

import random
from pathlib import Path

COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka"]


#: The keyword each topic's label should carry (any one of them).
TOPIC_WORDS = {
    "earnings": {"profit", "quarter", "earnings", "revenue", "quarterly"},
    "legal": {"lawsuit", "regulators", "antitrust", "court", "sued"},
    "product": {"new", "launches", "unveils", "customers", "smartphone", "headphones"},
    "jobs": {"jobs", "staff", "layoffs", "cut", "workers", "lays"},
}


def known_topic_rows(n: int, seed: int = 3) -> list[tuple[int, str, str]]:
    """(id, true topic, headline) rows."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topic = rng.choice(sorted(TEMPLATES))
        text = rng.choice(TEMPLATES[topic]).format(c=rng.choice(COMPANIES))
        rows.append((i, topic, text + rng.choice(SUFFIXES)))
    return rows


def write_news(db: Path, rows: list[tuple[int, str, str]]) -> None:
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute("CREATE OR REPLACE TABLE news (id INTEGER, truth VARCHAR, body VARCHAR)")
        con.executemany("INSERT INTO news VALUES (?, ?, ?)", rows)
        # Spread over 30 days, for the monitor's windows (by topic).
        con.execute(
            "ALTER TABLE news ADD COLUMN published_at TIMESTAMP DEFAULT NULL;"
            "UPDATE news SET published_at = TIMESTAMP '2026-03-02' + to_days(id % 30)"
        )


TEMPLATES = {
    "earnings": [
        "{c} reports quarterly earnings above expectations",
        "{c} profit falls in the third quarter",
        "{c} raises full-year revenue guidance",
        "{c} quarterly revenue beats analyst estimates",
        "{c} posts record profit for the quarter",
        "earnings per share at {c} drop on weak sales",
    ],
    "legal": [
        "{c} sued by regulators over privacy violations",
        "court rules against {c} in patent lawsuit",
        "{c} settles class action lawsuit for $40 million",
        "antitrust regulators open investigation into {c}",
        "{c} faces fine from the European Commission",
        "judge dismisses lawsuit against {c}",
    ],
    "product": [
        "{c} unveils new smartphone with longer battery life",
        "{c} launches electric car in Europe",
        "{c} releases new version of its cloud software",
        "{c} announces a new laptop lineup",
        "customers line up for the new {c} headphones",
        "{c} debuts a smart watch for runners",
    ],
    "jobs": [
        "{c} to cut 2,000 jobs in restructuring",
        "{c} announces layoffs at its main factory",
        "{c} hiring freeze hits engineering staff",
        "workers strike at {c} plant over wages",
        "{c} union reaches deal on pay",
        "{c} lays off staff as demand slows",
    ],
}


SUFFIXES = ["", ".", " - report", ", sources say", " (Reuters)"]
