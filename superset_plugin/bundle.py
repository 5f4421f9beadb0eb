"""The dashboard import bundle: Superset's export ZIP (metadata, database, datasets, charts,
dashboard), generated from the definitions in this package.

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

from textlens.superset_plugin import dashboard
from textlens.superset_plugin.charts import CHARTS
from textlens.superset_plugin.datasets import DATASETS
from textlens.superset_plugin.ids import stable_uuid

DATABASE_NAME = "textlens warehouse"
DATABASE_UUID = stable_uuid("database/textlens-warehouse")
ROOT = "textlens_voice_of_the_customer"


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


def bundle_files(sqlalchemy_uri: str) -> dict[str, dict[str, Any]]:
    """Path inside the ZIP -> content, for every file of the bundle."""
    files: dict[str, dict[str, Any]] = {
        "metadata.yaml": {
            "version": "1.0.0",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        },
        "databases/textlens_warehouse.yaml": database_config(sqlalchemy_uri),
        f"dashboards/{_slug(dashboard.TITLE)}.yaml": dashboard.config(),
    }
    for dataset in DATASETS:
        path = f"datasets/textlens_warehouse/{dataset.name}.yaml"
        files[path] = dataset.config(DATABASE_UUID)
    for chart in CHARTS:
        files[f"charts/{_slug(chart.name)}.yaml"] = chart.config()
    return files


def build_bundle(sqlalchemy_uri: str) -> bytes:
    """The bundle ZIP for a database at `sqlalchemy_uri` (a duckdb+textlens URL)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in bundle_files(sqlalchemy_uri).items():
            archive.writestr(f"{ROOT}/{path}", json.dumps(content, indent=2) + "\n")
    return buffer.getvalue()
