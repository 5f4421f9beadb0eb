"""SQL Lab scores only the rows a query asks for: the user's LIMIT, else the row cap.

With a model behind every row, a LIMIT that Superset widens to its row-limit
dropdown (1,000 by default) is 50 times the work of `LIMIT 20`. Counted where the
work happens: the textlens server's Prometheus counter of texts received by the
Sentiment RPC. Each query's texts are unique to it (a nonce), so the connector's
per-process result cache cannot hide a row.
"""

from __future__ import annotations

import re
import urllib.request
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.superset

#: SQL Lab's row-limit dropdown as the browser sends it by default (DEFAULT_SQLLAB_LIMIT).
DROPDOWN = 1000

#: The server's counter of texts received, one line per (rpc, model).
TEXTS = re.compile(r"^textlens_texts_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.M)


def sentiment_texts(metrics_url: str) -> int:
    """Texts the server's Sentiment RPC has received so far (every model)."""
    with urllib.request.urlopen(metrics_url, timeout=10) as answer:
        text = answer.read().decode()
    return int(
        sum(float(m["value"]) for m in TEXTS.finditer(text) if 'rpc="Sentiment"' in m["labels"])
    )


def scored_sql(limit: str) -> str:
    """Sentiment over unique texts (a fresh nonce per call), `limit` appended."""
    nonce = uuid.uuid4().hex[:8]
    return (
        f"SELECT review_id, sentiment('[{nonce}-' || review_id || '] ' || review) AS label "
        f"FROM reviews {limit}"
    ).strip()


def run(api: Any, database_id: int, metrics: str, sql: str, dropdown: int) -> tuple[int, int]:
    """(rows SQL Lab returned, texts the server scored) for one SQL Lab query."""
    before = sentiment_texts(metrics)
    result = api.execute_sql(database_id, sql, limit=dropdown)
    return len(result["data"]), sentiment_texts(metrics) - before


def test_sql_lab_scores_only_the_users_limit(
    bootstrapped: Any, api: Any, server_metrics_url: str
) -> None:
    sql = scored_sql("LIMIT 20")
    rows, scored = run(api, bootstrapped.database_id, server_metrics_url, sql, DROPDOWN)
    print(f"LIMIT 20 under the {DROPDOWN}-row dropdown: {rows} rows, {scored} texts scored")
    assert rows == 20
    assert scored <= 21, scored  # Superset fetches one row more to say "there are more"


def test_sql_lab_without_limit_gets_the_row_cap(
    bootstrapped: Any, api: Any, server_metrics_url: str
) -> None:
    sql = scored_sql("")
    rows, scored = run(api, bootstrapped.database_id, server_metrics_url, sql, 100)
    print(f"no LIMIT under a 100-row dropdown: {rows} rows, {scored} texts scored")
    assert rows == 100
    assert 100 <= scored <= 101, scored


def test_the_wrap_keeps_order_and_statements_duckdb_cannot_nest(
    bootstrapped: Any, api: Any
) -> None:
    """The row cap wraps the query (WRAP_SQL): ORDER BY survives, EXPLAIN and PRAGMA run."""
    database = bootstrapped.database_id
    ordered = api.execute_sql(database, "SELECT review_id FROM reviews ORDER BY review_id DESC")
    ids = [row["review_id"] for row in ordered["data"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 600
    plan = api.execute_sql(database, "EXPLAIN SELECT sentiment(review) FROM reviews LIMIT 5")
    assert plan["data"], plan
    columns = api.execute_sql(database, "PRAGMA table_info('reviews')")
    assert "review" in {row["name"] for row in columns["data"]}
