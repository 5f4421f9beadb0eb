""" "Market pulse" end to end: generated news -> model -> monitor -> Superset datasets and charts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from textlens.samples.market_news import (
    COMPANIES,
    INCIDENT_END,
    INCIDENT_START,
    INCIDENT_TICKER,
    TICKERS,
)
from textlens.superset_tools import alert
from textlens.superset_tools.market_charts import (
    ALERT_EMAIL_TABLE,
    NEGATIVE_BY_TICKER,
    OUTLIER_TOPIC,
    TOWARD_TICKER,
)
from textlens.superset_tools.market_datasets import OTHER_TICKERS, monitor_dir

pytestmark = pytest.mark.superset


def test_the_monitor_finds_the_incident_and_nothing_else(e2e_warehouse: Path) -> None:
    """The demo's one incident is the one ticker alert (the default sentiment model, for real)."""
    out = monitor_dir(e2e_warehouse)
    con = duckdb.connect()
    alerts = con.execute(
        f"SELECT dimension, group_value, window_start FROM read_parquet('{out}/alerts.parquet')"
    ).fetchall()
    assert alerts == [("ticker", INCIDENT_TICKER, INCIDENT_START)]
    # Topics are events, not companies: the fit masks the names (market_data.topic_masks).
    topics = {
        row[0]: row[1]
        for row in con.execute(
            f"SELECT topic, count(*) FROM read_parquet('{out}/scores.parquet') GROUP BY 1"
        ).fetchall()
    }
    names = [*TICKERS, *(c.name.split()[0] for c in COMPANIES)]
    leaked = [t for t in topics if any(re.search(rf"(?i)\b{n}\b", t) for n in names)]
    assert not leaked, topics
    assert len(set(topics) - {OUTLIER_TOPIC}) >= 6, topics
    assert topics.get(OUTLIER_TOPIC, 0) < 0.05 * sum(topics.values()), topics
    # The recall is news of a new kind: the few outliers are mostly the incident's.
    during = con.execute(
        f"SELECT count(*) FILTER (WHERE ts >= ? AND ts < ?), count(*) FROM "
        f"read_parquet('{out}/scores.parquet') WHERE topic = ?",
        [INCIDENT_START, INCIDENT_END, OUTLIER_TOPIC],
    ).fetchone()
    assert during is not None and during[0] > 0.5 * during[1], during


def test_the_alert_query_sees_the_new_alert_through_superset(bootstrapped: Any, api: Any) -> None:
    """The Alert's own SQL, run by Superset on the read-only warehouse connection."""
    report = api.request("GET", f"/api/v1/report/{bootstrapped.alert_id}")["result"]
    result = api.execute_sql(bootstrapped.database_id, report["sql"], limit=2)
    assert [list(row.values()) for row in result["data"]] == [[1]]


def test_the_alert_is_configured_for_one_email_per_spike(bootstrapped: Any, api: Any) -> None:
    report = api.request("GET", f"/api/v1/report/{bootstrapped.alert_id}")["result"]
    assert report["type"] == "Alert" and report["active"] is True
    assert report["crontab"] == alert.CRON and report["report_format"] == "TEXT"
    assert report["grace_period"] == alert.GRACE_SECONDS
    assert report["validator_type"] == "operator"
    assert report["chart"]["id"] == bootstrapped.market_chart_ids[ALERT_EMAIL_TABLE.name]
    targets = [r["recipient_config_json"] for r in report["recipients"]]
    assert alert.DEFAULT_RECIPIENT in str(targets)


def test_sentiment_toward_the_incident_ticker_is_the_lowest(bootstrapped: Any, api: Any) -> None:
    """aspect_sentiment_scores(headline, [ticker]), live: the recall week drags NWM down."""
    rows = api.chart_data(bootstrapped.market_chart_ids[TOWARD_TICKER.name])["data"]
    score = {row["ticker"]: row["avg_toward_ticker"] for row in rows}
    assert set(score) == set(TICKERS)
    assert min(score, key=score.__getitem__) == INCIDENT_TICKER
    assert score[INCIDENT_TICKER] < 0 < min(v for t, v in score.items() if t != INCIDENT_TICKER)


def test_the_line_chart_marks_the_incident_week(bootstrapped: Any, api: Any) -> None:
    chart_id = bootstrapped.market_chart_ids[NEGATIVE_BY_TICKER.name]
    answer = api.request("GET", f"/api/v1/chart/{chart_id}/data/?format=json")
    lines, markers = answer["result"][0]["data"], answer["result"][1]["data"]
    marked = [row for row in markers if row["alert"] is not None]
    assert len(marked) == 1, marked
    week = INCIDENT_START - dt.timedelta(days=INCIDENT_START.weekday())
    assert _day(marked[0]["week"]) == week.date()
    incident = [
        r for r in lines if r["series"] == INCIDENT_TICKER and _day(r["week"]) == week.date()
    ]
    assert incident and incident[0]["negative_share"] == pytest.approx(marked[0]["alert"])
    assert marked[0]["alert"] > 0.5
    # The ticker that alerted has its own line; every other ticker is in the grey one,
    # which no week takes as high as the incident's.
    assert {r["series"] for r in lines} == {INCIDENT_TICKER, OTHER_TICKERS}
    others = [r["negative_share"] for r in lines if r["series"] == OTHER_TICKERS]
    assert len(others) >= 20 and max(others) < marked[0]["alert"] / 2, others


def _day(value: Any) -> dt.date:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC).date()
    return dt.date.fromisoformat(str(value)[:10])
