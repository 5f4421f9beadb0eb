"""Every SQL function, in both modes, on real DuckDB (remote: a real server on loopback).

Rows cover NULL, the empty string, duplicates, unicode and over-long text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.connectors.duckdb.helpers import (
    LONG,
    TEXTS,
    TINY_DIM,
    TINY_MAX_TOKENS,
    UNICODE,
    assert_equal,
    column,
    with_texts,
)

LABELS = ["sports", "business", "travel"]
#: Every function's SQL (the `t` table has the column `review`) and the DuckDB type it returns.
CALLS = {
    "sentiment(review)": "VARCHAR",
    "sentiment_score(review)": "DOUBLE",
    "sentiment_probs(review)": "MAP(VARCHAR, DOUBLE)",
    "entities(review)": 'STRUCT("text" VARCHAR, "label" VARCHAR, "start" INTEGER, "end" INTEGER, score DOUBLE)[]',
    "embed(review)": f"FLOAT[{TINY_DIM}]",
    "classify(review, ['sports', 'business', 'travel'])": "VARCHAR",
    "classify_scores(review, ['sports', 'business', 'travel'])": "MAP(VARCHAR, DOUBLE)",
    "aspect_sentiment(review, ['product', 'it'])": "MAP(VARCHAR, VARCHAR)",
    "aspect_sentiment_scores(review, ['product', 'it'])": "MAP(VARCHAR, DOUBLE)",
    "entity_sentiment(review)": 'STRUCT("text" VARCHAR, "label" VARCHAR, "start" INTEGER, "end" INTEGER, score DOUBLE, sentiment VARCHAR, sentiment_score DOUBLE)[]',
}

Registered = Callable[..., tuple[Any, Any]]


def test_every_function_has_its_type(registered: Registered, mode: str) -> None:
    con, _ = registered(mode)
    with_texts(con)
    for sql, sql_type in CALLS.items():
        (typ,) = con.execute(f"SELECT typeof({sql}) FROM t LIMIT 1").fetchone()
        assert typ == sql_type, sql


def test_null_in_null_out_in_place(registered: Registered, mode: str) -> None:
    con, _ = registered(mode)
    with_texts(con)
    for sql in CALLS:
        values = column(con, sql)
        blank_is_null = sql.startswith("sentiment")  # no text, no opinion: NULL too
        expected = [t is None or (blank_is_null and not t.strip()) for t in TEXTS]
        assert [v is None for v in values] == expected, sql
    assert con.execute("SELECT sentiment(NULL), embed(NULL::VARCHAR)").fetchone() == (None, None)


def test_empty_string_answers_like_the_server_contract(registered: Registered, mode: str) -> None:
    con, _ = registered(mode)
    label, probs, score, spaces, spans, vector, topic = con.execute(
        "SELECT sentiment(''), sentiment_probs(''), sentiment_score(''), sentiment(' \t '), "
        "entities(''), embed(''), classify('', ['a', 'b'])"
    ).fetchone()
    assert (label, probs, score, spaces) == (None, None, None, None)  # no text, no opinion
    assert spans == []  # no text, no spans
    assert len(vector) == TINY_DIM
    assert topic in ("a", "b")


def test_values_are_consistent(registered: Registered, mode: str) -> None:
    con, _ = registered(mode)
    with_texts(con)
    rows = con.execute(
        "SELECT review, sentiment(review), sentiment_score(review), sentiment_probs(review), "
        "classify(review, ['sports', 'business', 'travel']), "
        "classify_scores(review, ['sports', 'business', 'travel']), "
        "array_cosine_similarity(embed(review), embed(review)) FROM t WHERE review IS NOT NULL"
    ).fetchall()
    for review, label, score, probs, topic, scores, self_similarity in rows:
        assert list(scores) == LABELS and scores[topic] == max(scores.values())
        assert self_similarity == pytest.approx(1.0, abs=1e-5)
        if not review.strip():
            assert (label, score, probs) == (None, None, None)  # no text, no opinion
            continue
        assert probs[label] == max(probs.values())
        assert score == pytest.approx(probs["positive"] - probs["negative"], abs=1e-6)
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    duplicated = [r for r in rows if r[0] == TEXTS[0]]
    assert len(duplicated) == 2 and duplicated[0] == duplicated[1]


def test_entity_offsets_are_code_points_usable_in_sql(registered: Registered, mode: str) -> None:
    con, _ = registered(mode)
    with_texts(con, [UNICODE, LONG])
    spans = column(con, "entities(review)")[0]
    assert spans, "the tiny NER model tags every word"
    for span in spans:
        assert UNICODE[span["start"] : span["end"]] == span["text"]
    mismatches = con.execute(
        "SELECT count(*) FROM (SELECT review, unnest(entities(review)) AS e FROM t) "
        'WHERE substring(review, e.start + 1, e."end" - e.start) <> e.text'
    ).fetchone()
    assert mismatches == (0,)


def test_long_text_is_truncated_by_default(registered: Registered, mode: str) -> None:
    con, _ = registered(mode)
    with_texts(con, [LONG, LONG[: len(LONG) // 2]])
    labels = column(con, "sentiment(review)")
    assert all(label is not None for label in labels)
    spans = column(con, "entities(review)")[0]
    assert spans[-1]["end"] < len(LONG)  # only the first TINY_MAX_TOKENS tokens are read


def test_long_text_fails_under_the_error_policy(registered: Registered, mode: str) -> None:
    import duckdb

    con, _ = registered(mode, truncation="error")
    with_texts(con, ["short is fine", LONG])
    with pytest.raises(duckdb.Error, match="TextTooLong") as info:
        column(con, "sentiment(review)")
    message = str(info.value)
    assert "TextTooLong" in message and f"at most {TINY_MAX_TOKENS}" in message
    assert "textlens sentiment()" in message
    assert "register(con, truncation='truncate')" in message
    assert con.execute("SELECT sentiment('short is fine')").fetchone()[0] is not None


def test_model_argument_picks_a_model(registered: Registered, mode: str) -> None:
    con, _ = registered(mode)
    with_texts(con)
    assert column(con, "sentiment(review, 'tiny-sentiment')") == column(con, "sentiment(review)")
    short = column(con, "embed(review, 'tiny-embed-short')")
    full = column(con, "embed(review)")
    assert short[5] is not None and len(short[5]) == TINY_DIM
    assert short[5] != full[5]  # max_length 8 reads fewer tokens of the unicode row
    # Per row model names: rows are grouped by model inside a chunk.
    mixed = con.execute(
        "SELECT embed(review, CASE WHEN id % 2 = 0 THEN 'tiny-embed' ELSE 'tiny-embed-short' END) "
        "FROM t ORDER BY id"
    ).fetchall()
    assert [m[0] for m in mixed] == [full[i] if i % 2 == 0 else short[i] for i in range(len(TEXTS))]


def test_classify_options(registered: Registered, mode: str) -> None:
    con, _ = registered(mode)
    with_texts(con)
    plain = column(con, "classify_scores(review, ['sports', 'business'])")
    templated = column(
        con, "classify_scores(review, ['sports', 'business'], '', 'This text is about {}.')"
    )
    assert plain[0] is not None and templated[0] is not None and plain[0] != templated[0]
    fine_tuned = column(con, "classify_scores(review, []::VARCHAR[], 'tiny-classifier')")
    assert column(con, "classify_scores(review, 'tiny-classifier')") == fine_tuned
    assert set(fine_tuned[0]) == {"negative", "positive"}
    assert column(con, "classify(review, NULL::VARCHAR[])") == [None] * len(TEXTS)


def test_models_option_sets_the_one_argument_default(registered: Registered, mode: str) -> None:
    con, _ = registered(mode, models={"embed": "tiny-embed-short"})
    with_texts(con)
    assert column(con, "embed(review)") == column(con, "embed(review, 'tiny-embed-short')")


def test_unknown_model_and_wrong_task_are_sql_errors(registered: Registered, mode: str) -> None:
    import duckdb

    con, _ = registered(mode)
    with_texts(con)
    with pytest.raises(
        duckdb.Error, match=r"UnknownModel: textlens sentiment\(\).*'nope'.*tiny-sentiment"
    ):
        column(con, "sentiment(review, 'nope')")
    with pytest.raises(duckdb.Error, match=r"WrongTask.*tiny-ner.*serves ner"):
        column(con, "sentiment(review, 'tiny-ner')")
    with pytest.raises(duckdb.Error, match="at least two candidate labels"):
        column(con, "classify(review, ['only'])")


@pytest.mark.parametrize(
    ("call", "public"),
    [
        ("sentiment(42)", "sentiment"),
        ("sentiment_score(review::BLOB)", "sentiment_score"),
        ("entities(['a', 'b'])", "entities"),
        ("sentiment(review, 3)", "sentiment"),
    ],
)
def test_wrong_argument_types_are_bind_errors_naming_the_function(
    registered: Registered, call: str, public: str
) -> None:
    import duckdb

    con, _ = registered("embedded")
    with_texts(con)
    with pytest.raises(duckdb.BinderException, match="explicit type casts") as caught:
        column(con, call)
    assert f"_textlens_{public}_" in str(caught.value)
    assert "VARCHAR" in str(caught.value)


def test_functions_work_in_lateral_joins(registered: Registered, mode: str) -> None:
    """`FROM t, unnest(f(t.col))` is how analysts explode entities and scores.

    Regression: DuckDB 2.0 fails with "unordered_map::at" on macros with typed
    parameters in a lateral join, so no overload may type its parameters.
    """
    con, _ = registered(mode)
    with_texts(con)
    exploded = con.execute(
        "SELECT t.id, e.entity.label FROM t, unnest(entities(t.review)) AS e(entity)"
    ).fetchall()
    per_row = column(con, "len(entities(review))")
    assert len(exploded) == sum(n or 0 for n in per_row)
    scores = con.execute(
        "SELECT t.id, s.kv.key FROM t, "
        "unnest(map_entries(classify_scores(t.review, ['sports', 'business', 'travel']))) "
        "AS s(kv) ORDER BY 1, 2"
    ).fetchall()
    non_null = sum(1 for text in TEXTS if text is not None)
    assert len(scores) == 3 * non_null
    assert {key for _, key in scores} == set(LABELS)


def test_enum_and_json_text_columns_are_accepted(registered: Registered) -> None:
    con, _ = registered("embedded")
    con.execute("CREATE TYPE mood AS ENUM ('I love it', 'terrible')")
    con.execute("CREATE TABLE t (id INTEGER, review mood)")
    con.execute("INSERT INTO t VALUES (0, 'I love it'), (1, NULL), (2, 'terrible')")
    assert column(con, "sentiment(review)") == column(con, "sentiment(review::VARCHAR)")
    assert column(con, "sentiment(review)")[1] is None
    con.execute("CREATE OR REPLACE TABLE t (id INTEGER, review JSON)")
    con.execute("""INSERT INTO t VALUES (0, '"I love it"'), (1, NULL), (2, '{"text": "bad"}')""")
    assert column(con, "sentiment(review)") == column(con, "sentiment(review::VARCHAR)")
    assert column(con, "sentiment(review)")[1] is None
    assert all(len(v) == TINY_DIM for v in column(con, "embed(review)") if v is not None)


def test_prefix_and_unregister(registered: Registered, mode: str) -> None:
    import duckdb

    con, registration = registered(mode, prefix="tl_")
    assert con.execute("SELECT tl_sentiment('fine')").fetchone()[0] is not None
    with pytest.raises(duckdb.CatalogException, match="with name sentiment does not exist"):
        con.execute("SELECT sentiment('')")
    registration.unregister()
    with pytest.raises(duckdb.CatalogException, match="with name tl_sentiment does not exist"):
        con.execute("SELECT tl_sentiment('')")


def test_registering_again_replaces_and_nothing_is_stored_in_the_file(
    registered: Registered, connect: Callable[..., Any], tmp_path: Any
) -> None:
    import duckdb

    path = tmp_path / "w.duckdb"
    con = connect(path)
    registered("embedded", con=con)
    _, second = registered("embedded", con=con)
    con.execute("CREATE TABLE answers AS SELECT sentiment('I love it') AS s")
    assert second.stats().rows == 1
    con.close()
    reopened = connect(path)
    assert reopened.execute("SELECT s FROM answers").fetchone()[0] is not None
    with pytest.raises(duckdb.CatalogException, match="with name sentiment does not exist"):
        reopened.execute("SELECT sentiment('x')")  # the macros were temporary


def test_results_equal_between_modes(registered: Registered) -> None:
    embedded, _ = registered("embedded")
    remote, _ = registered("remote")
    for con in (embedded, remote):
        with_texts(con)
    for sql in CALLS:
        here, there = column(embedded, sql), column(remote, sql)
        assert_equal(here, there, sql)
