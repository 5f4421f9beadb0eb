"""The generated bundle and CLI, without a Superset: structure, stable ids, layout, URL."""

from __future__ import annotations

import io
import json
import zipfile

from textlens.server.cli import build_parser
from textlens.superset_plugin import dashboard
from textlens.superset_plugin.bootstrap import warehouse_uri
from textlens.superset_plugin.bundle import DATABASE_UUID, ROOT, build_bundle
from textlens.superset_plugin.charts import CHARTS, LAYOUT
from textlens.superset_plugin.datasets import DATASETS
from textlens.superset_plugin.functions import FUNCTION_NAMES

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
