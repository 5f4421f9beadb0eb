"""language(text) in SQL, both modes (remote: a real server on loopback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.connectors.duckdb.helpers import column, with_texts

Registered = Callable[..., tuple[Any, Any]]
ROWS: list[str | None] = [
    "The company reported strong quarterly earnings and raised its guidance.",
    None,
    "Der Aktienkurs ist nach den Quartalszahlen deutlich gestiegen.",
    "公司公布了强劲的季度收益并上调了业绩指引。",
    "L'entreprise a publié de solides résultats trimestriels et relevé ses prévisions.",
    "",
    "$TSLA 123",
    "The company reported strong quarterly earnings and raised its guidance.",
]


def test_language_codes_nulls_and_undetermined(registered: Registered, mode: str) -> None:
    con, registration = registered(mode)
    with_texts(con, ROWS)
    assert column(con, "language(review)") == ["en", None, "de", "zh", "fr", "und", "und", "en"]
    (typ,) = con.execute("SELECT typeof(language(review)) FROM t LIMIT 1").fetchone()
    assert typ == "VARCHAR"
    assert con.execute("SELECT language(NULL)").fetchone() == (None,)
    stats = registration.stats()
    assert stats.nulls >= 1 and stats.computed >= 6  # distinct non-NULL texts were computed


def test_language_alongside_sentiment(registered: Registered, mode: str) -> None:
    """The policy comes later; today both answer, and a WHERE on language() works."""
    con, _ = registered(mode)
    with_texts(con, ROWS)
    rows = con.execute(
        "SELECT id, sentiment(review) FROM t WHERE language(review) = 'en' ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == [0, 7] and rows[0][1] == rows[1][1]
