"""How SQL Lab's row cap meets the user's LIMIT on a `duckdb+textlens` database.

Every row a textlens query returns is a model call, so a LIMIT the user wrote is
work they did not ask for when Superset widens it. Superset 6.1 does: SQL Lab
computes min(the query's LIMIT, the row-limit dropdown) but saves it on a query
record that the execution then reloads from another database session, so the
dropdown wins (apache/superset#40070), and with the default `FORCE_LIMIT` it
*replaces* the query's `LIMIT 20` by `LIMIT 1001`: 50 times the model calls.

The engine spec uses `WRAP_SQL` instead: `SELECT * FROM (<the query>) LIMIT
<cap + 1>`. The user's LIMIT stays inside, DuckDB pushes it down to the scan, so
`LIMIT 20` scores 20 rows; a query without LIMIT is still held to the cap; and
it stays right once Superset's bug is fixed. DuckDB keeps a subquery's ORDER BY.

What DuckDB cannot nest in a FROM clause (`EXPLAIN`, `PRAGMA`, `CALL`, `SET`…)
the wrap would break, so `run_as_written` takes those back out before the
statement runs; they return few rows and call no model per row.
"""

from __future__ import annotations

import re

#: Superset's WRAP_SQL statement as sqlglot formats it: SELECT * FROM (<inner>) LIMIT n.
_WRAPPED = re.compile(
    r"\A\s*SELECT\s+\*\s+FROM\s+\(\s*(?P<inner>.*?)\s*\)\s+LIMIT\s+\d+\s*;?\s*\Z",
    re.DOTALL | re.IGNORECASE,
)

#: Comments before the first keyword (sqlglot keeps the user's).
_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)

#: First keywords of the statements DuckDB can read as a subquery.
NESTABLE = frozenset(
    {"SELECT", "WITH", "FROM", "VALUES", "TABLE", "SHOW", "DESCRIBE", "DESC", "SUMMARIZE",
     "PIVOT", "UNPIVOT", "("}
)  # fmt: skip


def first_keyword(sql: str) -> str:
    """The statement's first keyword, upper case ("(" for a parenthesised query)."""
    comments = _LEADING_COMMENTS.match(sql)
    rest = sql[comments.end() :] if comments else sql
    if rest.startswith("("):
        return "("
    word = re.match(r"[A-Za-z_]+", rest)
    return word.group(0).upper() if word else ""


def run_as_written(sql: str) -> str:
    """`sql`, or the statement inside Superset's limit wrap when DuckDB cannot nest it."""
    wrapped = _WRAPPED.match(sql)
    if wrapped is None or first_keyword(wrapped["inner"]) in NESTABLE:
        return sql
    return wrapped["inner"]
