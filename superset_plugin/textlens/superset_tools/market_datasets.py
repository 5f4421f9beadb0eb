"""The "Market pulse" datasets: the monitor's Parquet outputs and live target sentiment.

All but `news_live` read what `textlens monitor` wrote (`read_parquet` over the
read-only `duckdb+textlens` connection: no write lock on the warehouse, and a
monitor run that replaces a file atomically is seen on the next query). The
SQL names the directory as MONITOR_DIR, filled in at bootstrap time.

* `market_ticker_weeks`: negative share per ticker and week, from the daily
  windows, with the alert windows counted (the line chart marks them), and a
  `series`: the ticker itself when it ever alerted, else OTHER_TICKERS, so the
  line chart draws the tickers that alerted against one grey line for the rest
  (twelve lines were unreadable, and a ticker's low-volume week, 6 of 7
  headlines negative, stood taller than the alert beside it).
* `market_topic_weeks`: one row per headline with its topic (the monitor's
  `scores.parquet`), for the topic x week heat map.
* `market_alerts`: the monitor's alerts (per ticker, or per topic) with their
  example headlines (the table, and the content of the Superset Alert's email).
* `market_scoring`: one row per headline with its week and why it was not
  scored (NULL: scored), for the share of rows not scored (the language policy:
  a headline in a language the sentiment model does not read is NULL).
* `market_alert_email`: the alerts that count as new for the Superset Alert, worst
  first, their numbers formatted as text ("79%"): the content of its email.
* `news_live`: the last NEWS_LIVE_DAYS of headlines, scored live by
  `aspect_sentiment_scores(headline, [ticker])`: sentiment toward the ticker,
  not the headline's overall tone ("NWM rises while QBT slips" is good for NWM).
"""

from __future__ import annotations

from pathlib import Path

from textlens.superset_plugin import alert_email as email
from textlens.superset_tools.alert import new_alerts_condition
from textlens.superset_tools.datasets import MONITOR_DIR, Dataset


def monitor_dir(db: Path) -> Path:
    """Where the demo's monitor writes, next to the warehouse (absolute: Superset reads it)."""
    return db.resolve().parent / "monitor"


#: Days of the newest headlines `news_live` scores live (about 450 rows of the demo).
NEWS_LIVE_DAYS = 14
#: The line chart's series for every ticker that never alerted (pooled: their share together).
OTHER_TICKERS = "other tickers"
TICKER_WINDOWS = f"read_parquet('{MONITOR_DIR}/windows.parquet')"
TICKER_ALERTS = f"read_parquet('{MONITOR_DIR}/alerts.parquet')"
TOPIC_SCORES = f"read_parquet('{MONITOR_DIR}/scores.parquet')"
#: The share of negative rows over the rows a chart cell aggregates (weeks of windows).
WEEK_SHARE = "SUM(negative) / NULLIF(SUM(n), 0)"
#: The same share, over the ticker-weeks that contain an alert window only (NULL elsewhere):
#: the line chart's "alert" markers sit on the line of the ticker that alerted.
ALERT_SHARE = (
    "SUM(CASE WHEN alerts > 0 THEN negative END) / NULLIF(SUM(CASE WHEN alerts > 0 THEN n END), 0)"
)

TICKER_WEEKS = Dataset(
    "market_ticker_weeks",
    "Negative share per ticker and week (textlens monitor's daily windows), alerts counted.",
    [
        ("week", "TIMESTAMP", True, None),
        ("ticker", "VARCHAR", False, None),
        ("series", "VARCHAR", False, None),
        ("n", "BIGINT", False, None),
        ("negative", "BIGINT", False, None),
        ("alerts", "BIGINT", False, None),
    ],
    [("negative_share", WEEK_SHARE, ".0%"), ("alert", ALERT_SHARE, ".0%")],
    # The line chart names each series "<metric>, <series>": "Negative, NWM".
    verbose_names={"negative_share": "Negative", "alert": "Alert"},
    sql=(
        "SELECT date_trunc('week', window_start) AS week, ticker,\n"
        "       CASE WHEN ticker IN (SELECT group_value FROM "
        f"{TICKER_ALERTS} WHERE dimension = 'ticker')\n"
        f"            THEN ticker ELSE '{OTHER_TICKERS}' END AS series,\n"
        "       sum(n)::BIGINT AS n, sum(negative)::BIGINT AS negative,\n"
        "       count(*) FILTER (WHERE is_alert)::BIGINT AS alerts\n"
        f"FROM {TICKER_WINDOWS}\n"
        "WHERE dimension = 'ticker'\n"
        "GROUP BY ALL"
    ),
    main_dttm_col="week",
)
TOPIC_WEEKS = Dataset(
    "market_topic_weeks",
    "One row per headline: its week, topic (the fitted topic model) and sentiment.",
    [
        ("week", "TIMESTAMP", True, None),
        ("topic", "VARCHAR", False, None),
        ("sentiment", "VARCHAR", False, None),
    ],
    [("negative_share", "AVG(CASE WHEN sentiment = 'negative' THEN 1.0 ELSE 0.0 END)", ".0%")],
    sql=f"SELECT date_trunc('week', ts) AS week, topic, sentiment\nFROM {TOPIC_SCORES}",
    main_dttm_col="week",
)
ALERTS = Dataset(
    "market_alerts",
    "Spikes of negative share found by textlens monitor, with the most negative headlines.",
    [
        ("alert_id", "VARCHAR", False, None),
        ("window_start", "TIMESTAMP", True, None),
        ("dimension", "VARCHAR", False, None),
        ("subject", "VARCHAR", False, None),
        ("n", "BIGINT", False, None),
        ("negative_share", "DOUBLE", False, None),
        ("baseline_share", "DOUBLE", False, None),
        ("z", "DOUBLE", False, None),
        ("example_headlines", "VARCHAR", False, None),
    ],
    sql=(
        "SELECT alert_id, window_start, dimension, group_value AS subject, n, negative_share,\n"
        "       baseline_share, z, array_to_string(examples, '  |  ') AS example_headlines\n"
        f"FROM {TICKER_ALERTS}"
    ),
    main_dttm_col="window_start",
    verbose_names={
        "window_start": "Window (day)",
        "dimension": "By",
        "subject": "Ticker or topic",
        "n": "Items",
        "negative_share": "Negative share",
        "baseline_share": "Baseline share",
        "z": "z",
        "example_headlines": "Most negative headlines",
    },
)


#: A share as a whole percentage, as text: Superset's email shows a table's values raw.
def _percent(column: str) -> str:
    return f"format('{{:.0f}}%', 100 * {column}::DOUBLE)"


ALERT_EMAIL = Dataset(
    "market_alert_email",
    "The Superset Alert's email: the alerts that count as new, worst first, numbers as text.",
    [
        ("alert_on", "VARCHAR", False, None),
        ("day", "VARCHAR", False, None),
        ("window_start", "TIMESTAMP", True, None),
        ("items", "BIGINT", False, None),
        ("negative_share", "VARCHAR", False, None),
        ("baseline_share", "VARCHAR", False, None),
        ("share", "DOUBLE", False, None),
        ("headlines", "VARCHAR", False, None),
    ],
    sql=(
        "SELECT CASE WHEN dimension = 'ticker' THEN group_value\n"
        "            ELSE dimension || ' ' || group_value END AS alert_on,\n"
        "       strftime(window_start, '%Y-%m-%d') AS day, window_start, n AS items,\n"
        f"       {_percent('negative_share')} AS negative_share,\n"
        f"       {_percent('baseline_share')} AS baseline_share,\n"
        "       negative_share AS share, array_to_string(examples, '  |  ') AS headlines\n"
        f"FROM {TICKER_ALERTS}\n"
        f"WHERE {new_alerts_condition(MONITOR_DIR)}"
    ),
    main_dttm_col="window_start",
    # The email's column headers; the subject is made of four of them (alert_email.py).
    verbose_names={
        "alert_on": email.ALERT_ON,
        "day": email.DAY,
        "items": "Items",
        "negative_share": email.NEGATIVE,
        "baseline_share": email.BASELINE,
        "headlines": "Most negative headlines",
    },
)
NEWS_LIVE = Dataset(
    "news_live",
    f"The last {NEWS_LIVE_DAYS} days of headlines, sentiment toward the ticker scored live.",
    [
        ("id", "BIGINT", False, None),
        ("published_at", "TIMESTAMP", True, None),
        ("ticker", "VARCHAR", False, None),
        ("source", "VARCHAR", False, None),
        ("headline", "VARCHAR", False, None),
        ("toward_ticker", "DOUBLE", False, None),
    ],
    [("avg_toward_ticker", "AVG(toward_ticker)", "+.2f")],
    sql=(
        "SELECT *, aspect_sentiment_scores(headline, [ticker])[ticker] AS toward_ticker\n"
        "FROM news\n"
        "WHERE published_at > (SELECT max(published_at) FROM news)"
        f" - INTERVAL {NEWS_LIVE_DAYS} DAY"
    ),
    main_dttm_col="published_at",
)
SCORING = Dataset(
    "market_scoring",
    "One row per headline: its week and why the sentiment model did not score it "
    "(NULL: scored; 'language de': a language the model does not read).",
    [
        ("week", "TIMESTAMP", True, None),
        ("not_scored", "VARCHAR", False, None),
    ],
    [
        (
            "unscored_share",
            "AVG(CASE WHEN not_scored IS NOT NULL THEN 1.0 ELSE 0.0 END)",
            ".1%",
        )
    ],
    verbose_names={"unscored_share": "Not scored"},
    sql=f"SELECT date_trunc('week', ts) AS week, not_scored\nFROM {TOPIC_SCORES}",
    main_dttm_col="week",
)
MARKET_DATASETS = (TICKER_WEEKS, TOPIC_WEEKS, ALERTS, ALERT_EMAIL, NEWS_LIVE, SCORING)
