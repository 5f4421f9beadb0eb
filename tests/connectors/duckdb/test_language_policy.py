"""The language policy in SQL, both modes: NULL for text the model cannot read.

Tiny models declared English-only in a TOML config (as a user would declare
`languages`), read by embedded DuckDB (`register(con, config=...)`) and by a
real `textlens serve` process on loopback (remote). A German and a Chinese
headline are NULL in every sentiment, aspect and entity function; English
finance text with cashtags and numbers is scored; `other_languages = "score"`
scores them; a hub-style model that declares no languages is never refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

duckdb = pytest.importorskip("duckdb", reason="the DuckDB connector needs the `duckdb` extra")

from tests.connectors.duckdb.helpers import column, declared, with_texts  # noqa: E402
from textlens.connectors.duckdb import register  # noqa: E402

ROWS: list[str | None] = [
    "Siemens-Aktie bricht nach enttäuschender Prognose um zwölf Prozent ein",
    "$TSLA up 4.2% after Q3 beat, PT $300",
    None,
    "阿里巴巴股价大跌，投资者担心监管风险",
    "Tesla shares jump after the company reported strong deliveries",
]
#: The rows the English-only models answer (not NULL): the English ones.
SCORED = [False, True, False, False, True]
FUNCTIONS = [
    "sentiment(review)",
    "sentiment_score(review)",
    "sentiment_probs(review)",
    "entities(review)",
    "entity_sentiment(review)",
    "aspect_sentiment(review, ['Siemens', 'TSLA', 'Tesla'])",
    "aspect_sentiment_scores(review, ['Siemens', 'TSLA', 'Tesla'])",
]


@pytest.fixture(scope="module")
def configs(
    tiny_models_dir: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("language-policy")
    out = {}
    for policy in ("null", "score"):
        out[policy] = root / f"{policy}.toml"
        out[policy].write_text(declared(tiny_models_dir, policy), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def policy_server(configs: dict[str, Path]) -> Iterator[Any]:
    from textlens.server.process import ServerProcess

    with ServerProcess(configs["null"], env={"OMP_NUM_THREADS": "1"}) as server:
        yield server


@pytest.fixture
def connected(
    connect: Callable[..., Any], configs: dict[str, Path], request: pytest.FixtureRequest
) -> Iterator[Callable[[str, str], Any]]:
    made: list[Any] = []

    def make(mode: str, policy: str = "null") -> Any:
        con = connect()
        if mode == "embedded":
            registration = register(con, config=configs[policy], mode="embedded")
        else:
            server = request.getfixturevalue("policy_server")
            registration = register(con, server.target)
        made.append(registration)
        return with_texts(con, ROWS)

    yield make
    for registration in made:
        registration.close()


def test_other_languages_are_null_in_every_function(
    connected: Callable[..., Any], mode: str
) -> None:
    con = connected(mode)
    for sql in FUNCTIONS:
        values = column(con, sql)
        assert [v is not None for v in values] == SCORED, (sql, values)
    # Not a cache artefact: the same rows again (from the cache) are still NULL / scored.
    assert [v is not None for v in column(con, "sentiment(review)")] == SCORED
    # The model that declares no languages (a hub model) reads everything.
    values = column(con, "sentiment(review, 'tiny-any')")
    assert [v is not None for v in values] == [r is not None for r in ROWS], values


def test_other_languages_score_in_embedded_mode(connected: Callable[..., Any]) -> None:
    """The embedded runtime reads `other_languages` from the same TOML as the server."""
    con = connected("embedded", "score")
    for sql in FUNCTIONS:
        values = column(con, sql)
        assert [v is not None for v in values] == [r is not None for r in ROWS], (sql, values)


def test_enrich_counts_the_rows_not_scored(configs: dict[str, Path], tmp_path: Path) -> None:
    from textlens.jobs.enrich import enrich

    db = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE news (id INTEGER, headline VARCHAR)")
        con.executemany("INSERT INTO news VALUES (?, ?)", list(enumerate([*ROWS, ROWS[0]])))
    result = enrich(
        table="news", column="headline", out="scored", db=db, tasks=["sentiment", "entities"],
        config=configs["null"], progress=False,
    )  # fmt: skip
    assert result.unscored == {"language de": 2, "language zh": 1}
    assert result.summary().endswith("; 3 rows not scored: language de (2), zh (1)")
    with duckdb.connect(str(db)) as con:
        nulls = con.execute("SELECT count(*) FROM scored WHERE sentiment IS NULL").fetchone()
    assert nulls == (4,)  # 3 refused + the NULL headline


def test_a_shared_cache_keeps_the_policies_apart(
    connect: Callable[..., Any], configs: dict[str, Path]
) -> None:
    """The same model version under "null" then "score": the cached NULLs are not reused."""
    from textlens.connectors.duckdb import ResultCache

    shared = ResultCache()
    answers = {}
    for policy in ("null", "score"):
        con = with_texts(connect(), ROWS)
        registration = register(con, config=configs[policy], mode="embedded", cache=shared)
        try:
            answers[policy] = [v is not None for v in column(con, "sentiment(review)")]
        finally:
            registration.close()
    assert answers == {"null": SCORED, "score": [r is not None for r in ROWS]}
