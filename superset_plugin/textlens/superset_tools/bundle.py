"""The dashboard import bundle: Superset's export ZIP (metadata, database, datasets, charts,
dashboards), generated from the definitions in this package: "Voice of the customer" and
"Market pulse".

Why JSON in `.yaml` files: JSON is YAML, so Superset's importer reads it, and
textlens needs no YAML library. Stable UUIDs make a re-import (overwrite=true)
update the same objects: the bootstrap is idempotent.

Why no `type` in metadata.yaml: each of Superset's importers (database,
dataset, chart, dashboard) overwrites only objects of its own kind and keeps
the related ones as they are, so the bootstrap sends the one bundle to all
four; an importer checks the type only when the bundle declares one.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

from textlens.superset_tools.dashboard import VOICE, Board
from textlens.superset_tools.datasets import DATASETS
from textlens.superset_tools.ids import stable_uuid
from textlens.superset_tools.market_charts import EMAIL_CHARTS, MARKET
from textlens.superset_tools.market_datasets import MARKET_DATASETS

DATABASE_NAME = "textlens warehouse"
#: The connection's file in the bundle (as Superset names it in an import's `passwords`).
DATABASE_FILE = "databases/textlens_warehouse.yaml"
DATABASE_UUID = stable_uuid("database/textlens-warehouse")
ROOT = "textlens_voice_of_the_customer"
#: Every dashboard of the bundle, and every dataset any of them reads.
BOARDS: tuple[Board, ...] = (VOICE, MARKET)
ALL_DATASETS = DATASETS + MARKET_DATASETS


def database_config(sqlalchemy_uri: str) -> dict[str, Any]:
    """The database YAML: DML off (the URL's read_only=true is what really forbids writes)."""
    return {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": sqlalchemy_uri,
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_csv_upload": False,
        "impersonate_user": False,
        "extra": {
            "metadata_params": {},
            "engine_params": {},
            "metadata_cache_timeout": {},
            "schemas_allowed_for_csv_upload": [],
            "allows_virtual_table_explore": True,
        },
        "uuid": DATABASE_UUID,
        "version": "1.0.0",
    }


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def bundle_files(sqlalchemy_uri: str, monitor: str | None) -> dict[str, dict[str, Any]]:
    """Path inside the ZIP -> content, for every file of the bundle.

    `monitor` is the absolute directory `textlens monitor` writes the market
    data to (the Market pulse datasets read its Parquet files); None leaves
    Market pulse out (a warehouse without market data).
    """
    boards = BOARDS if monitor is not None else (VOICE,)
    datasets = ALL_DATASETS if monitor is not None else DATASETS
    files: dict[str, dict[str, Any]] = {
        "metadata.yaml": {
            "version": "1.0.0",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        },
        DATABASE_FILE: database_config(sqlalchemy_uri),
    }
    for board in boards:
        files[f"dashboards/{_slug(board.title)}.yaml"] = board.config()
    charts = [chart for board in boards for chart in board.charts]
    for chart in charts + (list(EMAIL_CHARTS) if monitor is not None else []):
        files[f"charts/{_slug(chart.name)}.yaml"] = chart.config()
    for dataset in datasets:
        path = f"datasets/textlens_warehouse/{dataset.name}.yaml"
        files[path] = dataset.config(DATABASE_UUID, monitor)
    return files


def build_bundle(sqlalchemy_uri: str, monitor: str | None = None) -> bytes:
    """The bundle ZIP for a database at `sqlalchemy_uri` (a duckdb+textlens URL)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in bundle_files(sqlalchemy_uri, monitor).items():
            archive.writestr(f"{ROOT}/{path}", json.dumps(content, indent=2) + "\n")
    return buffer.getvalue()
