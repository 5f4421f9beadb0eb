"""End to end through Superset's REST API: bootstrap, chart data, SQL Lab, read-only, engine spec."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.superset_plugin.helpers import ADMIN
from textlens.samples.reviews import INCIDENT
from textlens.superset_plugin.functions import FUNCTION_NAMES
from textlens.superset_tools import alert, dashboard
from textlens.superset_tools.api import SupersetError
from textlens.superset_tools.charts import CHARTS
from textlens.superset_tools.market_charts import EMAIL_CHARTS, MARKET, MARKET_CHARTS

pytestmark = pytest.mark.superset


def test_bootstrap_is_idempotent(
    bootstrapped: Any, superset: Any, e2e_warehouse: Path, textlens_server: Any, api: Any
) -> None:
    from textlens.superset_tools.bootstrap import bootstrap

    again = bootstrap(superset.url, e2e_warehouse, textlens_server.target, password=ADMIN[1])
    assert again == bootstrapped
    assert len(api.find("dashboard", "slug", dashboard.SLUG)) == 1
    assert len(api.find("dashboard", "slug", MARKET.slug)) == 1
    assert len(api.find("database", "database_name", "textlens warehouse")) == 1
    assert len(api.dashboard_charts(dashboard.SLUG)) == len(CHARTS)
    assert len(api.dashboard_charts(MARKET.slug)) == len(MARKET_CHARTS)
    alerts = api.find("report", "name", alert.NAME)  # updated in place, not a second one
    assert [a["id"] for a in alerts] == [bootstrapped.alert_id]


def test_bootstrap_updates_in_place_after_a_change(
    bootstrapped: Any, superset: Any, e2e_warehouse: Path, textlens_server: Any, api: Any
) -> None:
    """Bootstrap again with another setting (the Alert's recipients): the same objects
    are updated, none is added; a third run with the defaults puts it back."""
    from textlens.superset_tools.bootstrap import bootstrap

    changed = bootstrap(
        superset.url,
        e2e_warehouse,
        textlens_server.target,
        password=ADMIN[1],
        alert_recipients=("ops@example.com",),
    )
    try:
        assert changed == bootstrapped  # every id the same
        report = api.request("GET", f"/api/v1/report/{bootstrapped.alert_id}")["result"]
        targets = str([r["recipient_config_json"] for r in report["recipients"]])
        assert "ops@example.com" in targets and alert.DEFAULT_RECIPIENT not in targets
        assert [a["id"] for a in api.find("report", "name", alert.NAME)] == [bootstrapped.alert_id]
        assert len(api.find("database", "database_name", "textlens warehouse")) == 1
        assert len(api.dashboard_charts(dashboard.SLUG)) == len(CHARTS)
    finally:
        assert (
            bootstrap(superset.url, e2e_warehouse, textlens_server.target, password=ADMIN[1])
            == bootstrapped
        )
    report = api.request("GET", f"/api/v1/report/{bootstrapped.alert_id}")["result"]
    assert alert.DEFAULT_RECIPIENT in str(
        [r["recipient_config_json"] for r in report["recipients"]]
    )


ALL_CHARTS = CHARTS + MARKET_CHARTS + EMAIL_CHARTS


@pytest.mark.parametrize("chart", ALL_CHARTS, ids=[c.name for c in ALL_CHARTS])
def test_chart_data_has_the_model_columns(bootstrapped: Any, api: Any, chart: Any) -> None:
    ids = {**bootstrapped.chart_ids, **bootstrapped.market_chart_ids}
    result = api.chart_data(ids[chart.name])
    rows = result["data"]
    assert rows, f"{chart.name}: no rows"
    for column in chart.expect_columns:
        assert column in result["colnames"], (chart.name, result["colnames"])
        assert all(row[column] is not None for row in rows), (chart.name, column)


def test_live_table_stays_under_its_row_limit(bootstrapped: Any, api: Any) -> None:
    """A table that fills its row_limit gets Superset's "row limit reached" warning icon."""
    chart = next(c for c in CHARTS if c.viz_type == "table")
    rows = api.chart_data(bootstrapped.chart_ids[chart.name])["data"]
    assert 0 < len(rows) < chart.params["row_limit"], len(rows)
    assert chart.query["row_limit"] == chart.params["row_limit"]


def test_negative_share_by_week_shows_the_incident_spike(bootstrapped: Any, api: Any) -> None:
    """The demo data's firmware incident must stand out in the chart built to show it."""
    chart = next(c for c in CHARTS if c.name == "Negative share by week")
    rows = api.chart_data(bootstrapped.chart_ids[chart.name])["data"]
    share = {_week(row["review_date"]): row["negative_share"] for row in rows}
    assert len(share) >= 40, rows
    incident = {INCIDENT[0] + dt.timedelta(days=d) for d in (0, 7)}  # both start on a Monday
    usual = sorted(v for week, v in share.items() if week not in incident)
    median = usual[len(usual) // 2]
    assert min(share[week] for week in incident) > median + 0.2, (share, median)


def _week(value: Any) -> dt.date:
    """A chart-data time value (epoch milliseconds or an ISO string) as a date."""
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC).date()
    return dt.date.fromisoformat(str(value)[:10])


def test_sql_lab_runs_the_functions_through_the_server(bootstrapped: Any, api: Any) -> None:
    result = api.execute_sql(
        bootstrapped.database_id,
        "SELECT review, sentiment(review), entities(review) FROM reviews LIMIT 20",
        limit=20,
    )
    rows = result["data"]
    assert len(rows) == 20
    labels = {row["sentiment(review)"] for row in rows}
    assert labels <= {"negative", "neutral", "positive"} and labels
    assert any('"label"' in str(row["entities(review)"]) for row in rows)


def test_calculated_column_calls_the_model(bootstrapped: Any, api: Any) -> None:
    """The raw `reviews` dataset's calculated column `live_sentiment` = sentiment(review)."""
    datasets = api.find("dataset", "table_name", "reviews")
    assert len(datasets) == 1
    answer = api.request(
        "POST",
        "/api/v1/chart/data",
        body={
            "datasource": {"id": datasets[0]["id"], "type": "table"},
            "queries": [
                {
                    "columns": ["live_sentiment"],
                    "metrics": ["count"],
                    "filters": [{"col": "review_id", "op": "<=", "val": 40}],
                    "row_limit": 10,
                }
            ],
            "result_format": "json",
            "result_type": "full",
        },
    )
    rows = answer["result"][0]["data"]
    assert {row["live_sentiment"] for row in rows} <= {"negative", "neutral", "positive"}
    assert sum(row["count"] for row in rows) == 40


@pytest.mark.parametrize(
    "statement",
    ["CREATE TABLE hacked AS SELECT 1 AS x", "DELETE FROM reviews", "DROP TABLE reviews_enriched"],
)
def test_superset_cannot_write_to_the_warehouse(
    bootstrapped: Any, api: Any, e2e_warehouse: Path, statement: str
) -> None:
    """Even with DML allowed in Superset, the read-only DuckDB connection refuses writes."""
    database = f"/api/v1/database/{bootstrapped.database_id}"
    with pytest.raises(SupersetError, match=r"(?i)dml|select"):  # as bootstrapped: DML off
        api.execute_sql(bootstrapped.database_id, statement)
    api.request("PUT", database, body={"allow_dml": True})
    try:
        with pytest.raises(SupersetError, match="read-only"):
            api.execute_sql(bootstrapped.database_id, statement)
    finally:
        api.request("PUT", database, body={"allow_dml": False})
    # Another process may read the file while Superset holds it: check nothing changed.
    with duckdb.connect(str(e2e_warehouse), read_only=True) as con:
        tables = {
            f"{schema}.{table}"
            for schema, table in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables()"
            ).fetchall()
        }
        assert tables == {
            "main.reviews", "main.reviews_enriched", "main.news",
            # the embedding index `reviews_like_this` searches (docs/search.md)
            "textlens_index.catalog", "textlens_index.reviews", "textlens_index.reviews__ann_ids",
        }  # fmt: skip
        assert con.execute("SELECT count(*) FROM reviews").fetchone() == (600,)


def test_engine_spec_is_in_the_connect_dialog(bootstrapped: Any, api: Any) -> None:
    available = api.request("GET", "/api/v1/database/available/")["databases"]
    ours = [db for db in available if db["name"] == "DuckDB + textlens"]
    assert len(ours) == 1, [db["name"] for db in available]
    spec = ours[0]
    assert spec["engine"] == "duckdb" and spec["default_driver"] == "textlens"
    assert spec["sqlalchemy_uri_placeholder"].startswith("duckdb+textlens:///")
    assert {"database", "textlens_target", "read_only"} <= set(spec["parameters"]["properties"])
    database = api.request("GET", f"/api/v1/database/{bootstrapped.database_id}")["result"]
    assert database["backend"] == "duckdb"
    connection = api.request("GET", f"/api/v1/database/{bootstrapped.database_id}/connection")
    assert connection["result"]["sqlalchemy_uri"].startswith("duckdb+textlens:///")
    assert "read_only=true" in connection["result"]["sqlalchemy_uri"]


def test_sql_lab_autocompletes_the_function_names(bootstrapped: Any, api: Any) -> None:
    names = api.request("GET", f"/api/v1/database/{bootstrapped.database_id}/function_names/")
    assert set(FUNCTION_NAMES) <= set(names["function_names"])
    assert "sentiment" in FUNCTION_NAMES and "entities" in FUNCTION_NAMES


SA14_CHECK = """
import json, sys, threading
import pandas as pd, sqlalchemy as sa
engine = sa.create_engine(sys.argv[1], pool_size=4)
out = {"sqlalchemy": sa.__version__}
with engine.connect() as con:
    out["labels"] = sorted({r[0] for r in con.execute(sa.text(
        "SELECT sentiment(review) FROM reviews LIMIT 50"))})
out["pandas_rows"] = len(pd.read_sql(
    "SELECT review, sentiment_score(review) AS s FROM reviews LIMIT 30", engine))
counts = []
def work():
    with engine.connect() as con:
        counts.append(con.execute(sa.text(
            "SELECT count(sentiment(review)) FROM reviews")).scalar())
threads = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in threads]; [t.join() for t in threads]
out["counts"] = counts
import importlib.util
out["torch"] = importlib.util.find_spec("torch") is not None
print(json.dumps(out))
"""


def test_dialect_under_supersets_sqlalchemy_14(
    superset_venv: Path, e2e_warehouse: Path, textlens_server: Any
) -> None:
    """Superset's environment: SQLAlchemy 1.4, pandas.read_sql, threads, and no torch."""
    from textlens.superset_tools.bootstrap import warehouse_uri

    done = subprocess.run(
        [str(superset_venv / "bin" / "python"), "-c", SA14_CHECK,
         warehouse_uri(e2e_warehouse, textlens_server.target)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["sqlalchemy"].startswith("1.4.")
    assert out["labels"] and set(out["labels"]) <= {"negative", "neutral", "positive"}
    assert out["pandas_rows"] == 30
    assert out["counts"] == [600] * 4
    assert out["torch"] is False
