"""`run_as_written`: Superset's limit wrap comes off only what DuckDB cannot nest.

The strings are Superset 6.1's WRAP_SQL output as sqlglot formats it (copied from
its executed SQL); test_sql_lab_limit.py runs the same through a real SQL Lab.
"""

from __future__ import annotations

import pytest

from textlens.superset_plugin.limits import first_keyword, run_as_written


def wrap(inner: str, limit: int = 1001) -> str:
    return f"SELECT\n  *\nFROM (\n  {inner}\n)\nLIMIT {limit}"


@pytest.mark.parametrize(
    "inner",
    [
        "EXPLAIN SELECT 1",
        "PRAGMA TABLE_INFO('reviews')",
        "CALL pragma_table_info('reviews')",
        "-- what is in it\nPRAGMA TABLE_INFO('reviews')",
        "/* plan */ explain SELECT sentiment(review) FROM reviews",
    ],
)
def test_statements_duckdb_cannot_nest_run_as_written(inner: str) -> None:
    assert run_as_written(wrap(inner)) == inner


@pytest.mark.parametrize(
    "inner",
    [
        "SELECT\n    review,\n    SENTIMENT(review)\n  FROM reviews\n  LIMIT 20",
        "WITH x AS (\n    SELECT\n      1\n  )\n  SELECT\n    *\n  FROM x",
        "FROM reviews",
        "SHOW TABLES",
        "DESCRIBE reviews",
        "SUMMARIZE reviews",
        "(\n    SELECT\n      1\n  )\n  UNION ALL\n  (\n    SELECT\n      2\n  )",
        "-- a comment first\nSELECT 1",
    ],
)
def test_queries_keep_the_wrap(inner: str) -> None:
    assert run_as_written(wrap(inner)) == wrap(inner)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT review FROM reviews LIMIT 1001",  # not wrapped (FORCE_LIMIT, a chart)
        "EXPLAIN SELECT 1",
        "SELECT * FROM (EXPLAIN SELECT 1)",  # no LIMIT: not Superset's wrap
        "SELECT * FROM (PRAGMA x) AS t LIMIT 5",  # an alias: not Superset's wrap
    ],
)
def test_anything_else_is_left_alone(sql: str) -> None:
    assert run_as_written(sql) == sql


def test_first_keyword() -> None:
    assert first_keyword("  -- x\n/* y */ select 1") == "SELECT"
    assert first_keyword("(SELECT 1)") == "("
    assert first_keyword("") == ""
