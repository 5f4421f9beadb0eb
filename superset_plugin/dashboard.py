"""The "Voice of the customer" dashboard: grid layout and native filters (product, date)."""

from __future__ import annotations

from typing import Any

from textlens.superset_plugin.charts import LAYOUT
from textlens.superset_plugin.datasets import ENRICHED
from textlens.superset_plugin.ids import stable_uuid

TITLE = "Voice of the customer"
SLUG = "voice-of-the-customer"
UUID = stable_uuid("dashboard/voice-of-the-customer")


def position() -> dict[str, Any]:
    """Superset's v2 grid: header, then one ROW per LAYOUT row, a CHART per chart."""
    rows: list[str] = []
    out: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": TITLE}},
    }
    chart_id = 0
    for r, row in enumerate(LAYOUT):
        row_id = f"ROW-{r}"
        rows.append(row_id)
        children: list[str] = []
        for chart in row:
            chart_id += 1  # placeholder ids; the import maps them by uuid
            key = f"CHART-{chart.uuid[:8]}"
            children.append(key)
            out[key] = {
                "type": "CHART",
                "id": key,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "chartId": chart_id,
                    "uuid": chart.uuid,
                    "width": chart.width,
                    "height": chart.height,
                    "sliceName": chart.name,
                },
            }
        out[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": children,
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
    out["GRID_ID"] = {"type": "GRID", "id": "GRID_ID", "children": rows, "parents": ["ROOT_ID"]}
    return out


def _filter(filter_id: str, name: str, filter_type: str, column: str | None) -> dict[str, Any]:
    target: dict[str, Any] = {"datasetUuid": ENRICHED.uuid}
    if column is not None:
        target["column"] = {"name": column}
    return {
        "id": filter_id,
        "name": name,
        "filterType": filter_type,
        "type": "NATIVE_FILTER",
        "targets": [target] if column is not None else [],
        "controlValues": {
            "enableEmptyFilter": False,
            "defaultToFirstItem": False,
            "multiSelect": True,
            "searchAllOptions": False,
            "inverseSelection": False,
        },
        "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
        "cascadeParentIds": [],
        "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
        "description": "",
        "chartsInScope": [],
        "tabsInScope": [],
    }


def metadata() -> dict[str, Any]:
    return {
        "color_scheme": "supersetColors",
        "refresh_frequency": 0,
        "expanded_slices": {},
        "label_colors": {},
        "timed_refresh_immune_slices": [],
        "cross_filters_enabled": True,
        "default_filters": "{}",
        "chart_configuration": {},
        "native_filter_configuration": [
            _filter("NATIVE_FILTER-product", "Product", "filter_select", "product"),
            _filter("NATIVE_FILTER-date", "Review date", "filter_time", None),
        ],
    }


def config() -> dict[str, Any]:
    """The dashboard's YAML (as a dict) in Superset's import bundle format."""
    return {
        "dashboard_title": TITLE,
        "description": None,
        "css": "",
        "slug": SLUG,
        "uuid": UUID,
        "position": position(),
        "metadata": metadata(),
        "version": "1.0.0",
        "published": True,
    }
