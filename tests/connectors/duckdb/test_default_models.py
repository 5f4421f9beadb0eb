"""The committed default models through SQL: answers that make sense, in both modes.

Embedded mode runs an Analyzer over the session's loaded default models;
remote mode a real gRPC server on loopback over the same models, so the two
must agree to the last float.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import same_batch_tolerance
from textlens.connectors.duckdb import EmbeddedBackend, Registration, register

duckdb = pytest.importorskip("duckdb")

REVIEWS = [
    "I love it. Maria from Philips support helped me in Berlin and it works perfectly.",
    "Terrible, it broke after a day and Amazon refused the return.",
    None,
    "",
]


@pytest.fixture(scope="module")
def backends(default_served: list[Any]) -> Iterator[dict[str, Any]]:
    from tests.helpers import rebatch
    from textlens.server.runtime.analyzer import Analyzer
    from textlens.server.transport.inprocess import InProcessServer

    analyzer = Analyzer(rebatch(default_served))
    server = InProcessServer(rebatch(default_served))
    yield {"embedded": EmbeddedBackend(analyzer), "remote": server.target}
    server.stop()
    analyzer.close()


@pytest.fixture
def on(backends: dict[str, Any]) -> Iterator[Callable[[str], tuple[Any, Registration]]]:
    made: list[tuple[Any, Registration]] = []

    def make(mode: str) -> tuple[Any, Registration]:
        con = duckdb.connect()
        if mode == "embedded":
            tl = register(con, backend=backends["embedded"])
        else:
            tl = register(con, backends["remote"])
        con.execute("CREATE TABLE t (id INTEGER, review VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(REVIEWS)))
        made.append((con, tl))
        return con, tl

    yield make
    for con, tl in made:
        tl.close()
        con.close()


QUERY = """
SELECT sentiment(review), sentiment_score(review), sentiment_probs(review), entities(review),
       embed(review), classify(review, ['delivery', 'customer service', 'build quality'])
FROM t ORDER BY id
"""


@pytest.mark.parametrize("mode", ["embedded", "remote"])
def test_answers_make_sense(on: Callable[[str], tuple[Any, Registration]], mode: str) -> None:
    con, _ = on(mode)
    happy, sad, null, empty = con.execute(QUERY).fetchall()
    assert happy[0] == "positive" and happy[1] > 0.5
    assert sad[0] == "negative" and sad[1] < -0.5
    assert null == (None,) * 6
    assert empty[3] == [] and len(empty[4]) == 384
    found = {(e["text"], e["label"]) for e in happy[3]}
    assert {("Maria", "PER"), ("Berlin", "LOC")} <= found
    (similar,) = con.execute(
        "SELECT array_cosine_similarity(embed('the kettle broke'), embed('my kettle stopped working'))"
        " - array_cosine_similarity(embed('the kettle broke'), embed('Barcelona won the match'))"
    ).fetchone()
    assert similar > 0.2


def test_modes_agree(
    on: Callable[[str], tuple[Any, Registration]], default_served: list[Any]
) -> None:
    embedded, _ = on("embedded")
    remote, _ = on("remote")
    served = {s.info().task: s for s in default_served if s.info().is_default}
    sentiment, embed = (
        same_batch_tolerance(served["sentiment"]),
        same_batch_tolerance(served["embed"]),
    )
    here, there = embedded.execute(QUERY).fetchall(), remote.execute(QUERY).fetchall()
    for a, b in zip(here, there, strict=True):
        assert a[0] == b[0] and a[5] == b[5]
        if a[0] is None:
            continue
        assert a[1] == pytest.approx(b[1], abs=sentiment)
        assert list(a[2]) == list(b[2])
        assert [(e["text"], e["label"], e["start"], e["end"]) for e in a[3]] == [
            (e["text"], e["label"], e["start"], e["end"]) for e in b[3]
        ]
        assert a[4] == pytest.approx(b[4], abs=embed)


TARGETS = """
SELECT aspect_sentiment('Tesla shares jump while Ford slips on weak guidance', ['Tesla', 'Ford']),
       aspect_sentiment('The battery is great but the screen scratches easily',
                        ['battery', 'screen', 'price']),
       aspect_sentiment_scores('The battery is great but the screen scratches easily',
                               ['battery', 'screen', 'price']),
       entity_sentiment('Infosys beats estimates; Wipro misses')
"""


@pytest.mark.parametrize("mode", ["embedded", "remote"])
def test_target_sentiment_examples(
    on: Callable[[str], tuple[Any, Registration]], mode: str
) -> None:
    con, _ = on(mode)
    tesla, phone, scores, spans = con.execute(TARGETS).fetchone()
    assert tesla == {"Tesla": "positive", "Ford": "negative"}
    assert phone == {"battery": "positive", "screen": "negative", "price": None}
    assert scores["battery"] > 0.3 and scores["screen"] < -0.3 and scores["price"] is None
    toward = {e["text"]: e["sentiment"] for e in spans}
    assert toward == {"Infosys": "positive", "Wipro": "negative"}


@pytest.mark.parametrize("mode", ["embedded", "remote"])
def test_default_sentiment_is_three_class(
    on: Callable[[str], tuple[Any, Registration]], mode: str
) -> None:
    con, _ = on(mode)
    rows = con.execute(
        "SELECT sentiment(t), sentiment_probs(t) FROM (VALUES"
        " ('Siemens will report its third-quarter results on November 12.'),"
        " ('Shares of Shell plunged after the dividend cut.'),"
        " ('Profit doubled and the outlook was raised.'), (NULL), ('')) v(t)"
    ).fetchall()
    assert [r[0] for r in rows[:3]] == ["neutral", "negative", "positive"]
    assert rows[3] == (None, None)
    assert {r[0] for r in rows if r[0] is not None} <= {"positive", "neutral", "negative"}
    assert list(rows[0][1]) == ["negative", "neutral", "positive"]


def test_demo_sql_part(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "textlens.server.demo", "--skip-grpc", "--reviews", "400",
         "--db", str(tmp_path / "demo.duckdb")],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "sentiment(review)" in out and "entities(review)" in out
    assert "entity_sentiment(headline)" in out and "Tesla: positive" in out
    assert "average sentiment_score" in out and "Mesh router" in out
    assert "distinct texts computed" in out
    con = duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM reviews").fetchone() == (400,)
    con.close()
