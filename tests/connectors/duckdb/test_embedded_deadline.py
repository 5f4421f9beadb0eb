"""The embedded mode has a deadline too: a call that cannot finish in time fails with
DeadlineExceeded (its queued work dropped) instead of holding the query forever."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from textlens.connectors.duckdb import EmbeddedBackend, register
from textlens.contract.errors import DeadlineExceeded
from textlens.contract.limits import SQL_TIMEOUT


def test_the_default_deadline_is_the_sql_one(tiny_analyzer: Any) -> None:
    assert EmbeddedBackend(tiny_analyzer).timeout == SQL_TIMEOUT


def test_a_passed_deadline_fails_the_call_and_says_what_to_do(tiny_analyzer: Any) -> None:
    late = EmbeddedBackend(tiny_analyzer, timeout=0.0)
    with pytest.raises(DeadlineExceeded, match=r"sentiment\(\) passed its 0s deadline.*timeout="):
        late.sentiment(["the movie was good"] * 64, "", "truncate")
    with pytest.raises(DeadlineExceeded):
        late.embed(["the movie was good"], "", "truncate")
    on_time = EmbeddedBackend(tiny_analyzer, timeout=60.0)
    assert len(on_time.sentiment(["the movie was good"], "", "truncate")) == 1


def test_in_sql_the_error_names_the_deadline(tiny_analyzer: Any) -> None:
    con = duckdb.connect()
    register(con, backend=EmbeddedBackend(tiny_analyzer, timeout=0.0))
    with pytest.raises(duckdb.Error, match="DeadlineExceeded"):
        con.sql("SELECT sentiment('the movie was good')").fetchall()
