"""The generated bundle and CLI, without a Superset: structure, stable ids, layout, URL."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

from textlens.cli.main import build_parser
from textlens.superset_plugin.functions import FUNCTION_NAMES
from textlens.superset_tools import dashboard
from textlens.superset_tools.bootstrap import warehouse_uri
from textlens.superset_tools.bundle import DATABASE_UUID, ROOT, build_bundle
from textlens.superset_tools.charts import CHARTS, LAYOUT
from textlens.superset_tools.datasets import DATASETS

URI = "duckdb+textlens:////data/w.duckdb?read_only=true&textlens_target=h:1"


def read_bundle() -> dict[str, dict[str, object]]:
    with zipfile.ZipFile(io.BytesIO(build_bundle(URI))) as archive:
        return {
            name.removeprefix(ROOT + "/"): json.loads(archive.read(name))
            for name in archive.namelist()
        }


def test_bundle_has_every_object_with_stable_uuids() -> None:
    files = read_bundle()
    assert "metadata.yaml" in files and "type" not in files["metadata.yaml"]
    database = files["databases/textlens_warehouse.yaml"]
    assert database["sqlalchemy_uri"] == URI and database["allow_dml"] is False
    assert len([f for f in files if f.startswith("datasets/")]) == len(DATASETS)
    charts = [v for f, v in files.items() if f.startswith("charts/")]
    assert {c["uuid"] for c in charts} == {c.uuid for c in CHARTS}
    dataset_uuids = {d.uuid for d in DATASETS}
    assert all(c["dataset_uuid"] in dataset_uuids for c in charts)
    assert read_bundle()["dashboards/voice_of_the_customer.yaml"]["uuid"] == dashboard.UUID
    assert all(
        files[f]["database_uuid"] == DATABASE_UUID for f in files if f.startswith("datasets/")
    )


def test_layout_rows_fill_the_grid_and_reference_every_chart() -> None:
    assert all(sum(chart.width for chart in row) == 12 for row in LAYOUT)
    position = dashboard.position()
    uuids = {v["meta"]["uuid"] for v in position.values() if isinstance(v, dict) and
             v.get("type") == "CHART"}  # fmt: skip
    assert uuids == {c.uuid for c in CHARTS}
    filters = dashboard.metadata()["native_filter_configuration"]
    assert [f["filterType"] for f in filters] == ["filter_select", "filter_time"]


def test_query_context_points_at_the_dataset() -> None:
    context = CHARTS[0].query_context(42)
    assert context["datasource"] == {"id": 42, "type": "table"}
    assert context["form_data"]["datasource"] == "42__table"


def test_warehouse_uri_is_absolute_and_read_only() -> None:
    uri = warehouse_uri("rel/w.duckdb", "h:1")
    assert uri.startswith("duckdb+textlens:////") and "read_only=true" in uri


def test_function_names_and_cli() -> None:
    assert {"sentiment", "sentiment_score", "entities", "embed", "classify"} <= set(FUNCTION_NAMES)
    args = build_parser().parse_args(
        ["superset", "bootstrap", "--db", "w.duckdb", "--target", "h:1"]
    )
    assert args.superset_url == "http://127.0.0.1:8088" and args.target == "h:1"


MONITOR = "/data/monitor"


def test_bundle_with_market_data_has_both_dashboards() -> None:
    from textlens.superset_tools.datasets import MONITOR_DIR
    from textlens.superset_tools.market_charts import EMAIL_CHARTS, MARKET
    from textlens.superset_tools.market_datasets import MARKET_DATASETS

    with zipfile.ZipFile(io.BytesIO(build_bundle(URI, MONITOR))) as archive:
        files = {
            n.removeprefix(ROOT + "/"): json.loads(archive.read(n)) for n in archive.namelist()
        }
    boards = {v["slug"] for f, v in files.items() if f.startswith("dashboards/")}
    assert boards == {dashboard.SLUG, MARKET.slug}
    market = {f"datasets/textlens_warehouse/{d.name}.yaml" for d in MARKET_DATASETS}
    assert market <= set(files)
    sql = [files[f]["sql"] for f in market]
    assert all(MONITOR_DIR not in s for s in sql)
    assert sum(f"'{MONITOR}/" in s for s in sql) == 5  # all but the live one read Parquet
    charts = {v["uuid"] for f, v in files.items() if f.startswith("charts/")}
    on_boards = {c.uuid for c in CHARTS} | {c.uuid for c in MARKET.charts}
    assert charts == on_boards | {c.uuid for c in EMAIL_CHARTS}  # the Alert's, on no board
    assert all(sum(c.width for c in row) == 12 for row in MARKET.layout)
    # Without market data, the bundle is "Voice of the customer" alone (as before).
    assert not any(f.startswith("dashboards/market") for f in read_bundle())


def test_alert_query_counts_only_alerts_new_in_the_data(tmp_path: Path) -> None:
    """An alert counts while its window is within LOOKBACK_DAYS of the newest window."""
    import duckdb

    from textlens.superset_tools.alert import LOOKBACK_DAYS, alert_sql

    out = tmp_path
    con = duckdb.connect()
    spike = dt.datetime(2025, 6, 23)
    con.execute(
        f"COPY (SELECT 'a1' AS alert_id, TIMESTAMP '{spike}' AS window_start) "
        f"TO '{out}/alerts.parquet' (FORMAT parquet)"
    )

    def count(newest: dt.datetime) -> int:
        con.execute(
            f"COPY (SELECT TIMESTAMP '{newest}' AS window_start UNION ALL "
            f"SELECT TIMESTAMP '{spike}') TO '{out}/windows.parquet' (FORMAT parquet)"
        )
        row = con.execute(alert_sql(str(out))).fetchone()
        assert row is not None
        return int(row[0])

    assert count(spike) == 1  # the monitor's run right after the spike's window
    assert count(spike + dt.timedelta(days=LOOKBACK_DAYS)) == 1
    assert count(spike + dt.timedelta(days=LOOKBACK_DAYS + 1)) == 0  # old news: no email


def test_bootstrap_cli_takes_the_monitor_and_alert_recipients() -> None:
    args = build_parser().parse_args(
        ["superset", "bootstrap", "--db", "w.duckdb", "--target", "h:1", "--monitor", "/m",
         "--alert-email", "a@example.com", "--alert-email", "b@example.com"]
    )  # fmt: skip
    assert str(args.monitor) == "/m" and args.alert_email == ["a@example.com", "b@example.com"]


def test_alert_email_rows_are_the_new_alerts_worst_first_as_text(tmp_path: Path) -> None:
    """The email's dataset on a monitor's output (real DuckDB): formatted, new only, sorted."""
    import duckdb

    from textlens.superset_tools.market_charts import ALERT_EMAIL_TABLE
    from textlens.superset_tools.market_datasets import ALERT_EMAIL

    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM (VALUES "
        "('a1', TIMESTAMP '2025-06-23', 'ticker', 'NWM', 28, 0.7857142857142857, "
        "0.14782608695652175, ['NWM recalls', 'NWM plunges']), "
        "('a2', TIMESTAMP '2025-06-24', 'topic', 'recall', 40, 0.9, 0.1, ['x']), "
        "('a0', TIMESTAMP '2025-05-01', 'ticker', 'QBT', 20, 0.95, 0.1, ['old news'])) "
        "AS t(alert_id, window_start, dimension, group_value, n, negative_share, "
        f"baseline_share, examples)) TO '{tmp_path}/alerts.parquet' (FORMAT parquet)"
    )
    con.execute(
        "COPY (SELECT TIMESTAMP '2025-06-26' AS window_start) "
        f"TO '{tmp_path}/windows.parquet' (FORMAT parquet)"
    )
    sql = ALERT_EMAIL.config("db-uuid", str(tmp_path))["sql"]
    columns = ", ".join(ALERT_EMAIL_TABLE.query["columns"])
    rows = con.execute(f"SELECT {columns} FROM ({sql}) ORDER BY share DESC").fetchall()
    assert rows == [
        ("topic recall", "2025-06-24", 40, "90%", "10%", "x"),
        ("NWM", "2025-06-23", 28, "79%", "15%", "NWM recalls  |  NWM plunges"),
    ]
