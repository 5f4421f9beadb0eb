"""The dashboards' YAML: grid layout and native filters, for "Voice of the customer" and others.

A `Board` is a title, a slug, rows of charts and native filters; `VOICE` is
"Voice of the customer" (product and review-date filters), and the module
functions describe it, as before. "Market pulse" is a `Board` too
(`market_charts.MARKET`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textlens.superset_tools.charts import LAYOUT, Chart
from textlens.superset_tools.datasets import ENRICHED
from textlens.superset_tools.ids import stable_uuid


@dataclass(frozen=True)
class Filter:
    """A native filter: `column` of `dataset_uuid` (a select), or a time range (no column)."""

    filter_id: str
    name: str
    filter_type: str
    dataset_uuid: str
    column: str | None

    def config(self) -> dict[str, Any]:
        target: dict[str, Any] = {"datasetUuid": self.dataset_uuid}
        if self.column is not None:
            target["column"] = {"name": self.column}
        return {
            "id": self.filter_id,
            "name": self.name,
            "filterType": self.filter_type,
            "type": "NATIVE_FILTER",
            "targets": [target] if self.column is not None else [],
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


@dataclass(frozen=True)
class Board:
    """One dashboard: rows of charts (each row's widths add up to 12) and native filters."""

    title: str
    slug: str
    layout: tuple[tuple[Chart, ...], ...]
    filters: tuple[Filter, ...] = ()
    #: Fixed series colors (Superset's dashboard `label_colors`), keyed by the series'
    #: metric or group name as the chart's color scale sees it (the metric *name*).
    label_colors: dict[str, str] = field(default_factory=dict)

    @property
    def uuid(self) -> str:
        return stable_uuid(f"dashboard/{self.slug}")

    @property
    def charts(self) -> tuple[Chart, ...]:
        return tuple(chart for row in self.layout for chart in row)

    def position(self) -> dict[str, Any]:
        """Superset's v2 grid: header, then one ROW per layout row, a CHART per chart."""
        rows: list[str] = []
        out: dict[str, Any] = {
            "DASHBOARD_VERSION_KEY": "v2",
            "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
            "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": self.title}},
        }
        chart_id = 0
        for r, row in enumerate(self.layout):
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
        out["GRID_ID"] = {
            "type": "GRID", "id": "GRID_ID", "children": rows, "parents": ["ROOT_ID"]
        }  # fmt: skip
        return out

    def metadata(self) -> dict[str, Any]:
        return {
            "color_scheme": "supersetColors",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": dict(self.label_colors),
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": True,
            "default_filters": "{}",
            "chart_configuration": {},
            "native_filter_configuration": [f.config() for f in self.filters],
        }

    def config(self) -> dict[str, Any]:
        """The dashboard's YAML (as a dict) in Superset's import bundle format."""
        return {
            "dashboard_title": self.title,
            "description": None,
            "css": "",
            "slug": self.slug,
            "uuid": self.uuid,
            "position": self.position(),
            "metadata": self.metadata(),
            "version": "1.0.0",
            "published": True,
        }


VOICE = Board(
    "Voice of the customer",
    "voice-of-the-customer",
    LAYOUT,
    (
        Filter("NATIVE_FILTER-product", "Product", "filter_select", ENRICHED.uuid, "product"),
        Filter("NATIVE_FILTER-date", "Review date", "filter_time", ENRICHED.uuid, None),
    ),
)
TITLE = VOICE.title
SLUG = VOICE.slug
UUID = VOICE.uuid


def position() -> dict[str, Any]:
    return VOICE.position()


def metadata() -> dict[str, Any]:
    return VOICE.metadata()


def config() -> dict[str, Any]:
    return VOICE.config()
