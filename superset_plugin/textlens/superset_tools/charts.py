"""The "Voice of the customer" charts: Superset form data plus the chart-data query of each.

`params` is what the Explore view and the dashboard render from; `queries` is
the same question for the chart-data API (`/api/v1/chart/data`), which the
bootstrap saves as each chart's query context and the tests ask directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textlens.superset_tools.datasets import ENRICHED, ENTITIES, LIKE_THIS, LIVE, Dataset
from textlens.superset_tools.ids import stable_uuid


def time_axis(grain: str, column: str = "review_date") -> dict[str, Any]:
    """The x axis of a timeseries query: `column` truncated to `grain` (ISO 8601, e.g. P1W)."""
    return {
        "columnType": "BASE_AXIS",
        "sqlExpression": column,
        "label": column,
        "expressionType": "SQL",
        "timeGrain": grain,
    }


@dataclass(frozen=True)
class Chart:
    """One chart: its dataset, viz type, form data, chart-data query and grid size."""

    name: str
    dataset: Dataset
    viz_type: str
    params: dict[str, Any]
    query: dict[str, Any]
    #: Columns the chart-data rows must have (the enriched or live-computed ones).
    expect_columns: tuple[str, ...]
    width: int = 6
    height: int = 50
    extra_filters: list[dict[str, Any]] = field(default_factory=list)
    #: Further queries of a chart that has several (the mixed chart's query B).
    more_queries: tuple[dict[str, Any], ...] = ()
    #: The name the chart was first bundled under, when renamed since: its UUID stays, so
    #: a bootstrap updates the chart in place instead of leaving the old one behind.
    first_name: str | None = None

    @property
    def uuid(self) -> str:
        return stable_uuid(f"chart/{self.first_name or self.name}")

    def form_data(self) -> dict[str, Any]:
        return {
            "viz_type": self.viz_type,
            "adhoc_filters": [],
            "extra_form_data": {},
            "dashboards": [],
            **self.params,
        }

    def config(self) -> dict[str, Any]:
        """The chart's YAML (as a dict) in Superset's import bundle format."""
        return {
            "slice_name": self.name,
            "description": None,
            "certified_by": None,
            "certification_details": None,
            "viz_type": self.viz_type,
            "params": self.form_data(),
            "query_context": None,
            "cache_timeout": None,
            "uuid": self.uuid,
            "version": "1.0.0",
            "dataset_uuid": self.dataset.uuid,
        }

    def query_context(self, dataset_id: int) -> dict[str, Any]:
        """The chart-data API request for this chart on the imported dataset `dataset_id`."""
        form_data = {**self.form_data(), "datasource": f"{dataset_id}__table"}
        queries = [
            {"filters": [], "extras": {"having": "", "where": ""}, **query}
            for query in (self.query, *self.more_queries)
        ]
        return {
            "datasource": {"id": dataset_id, "type": "table"},
            "force": False,
            "queries": queries,
            "form_data": form_data,
            "result_format": "json",
            "result_type": "full",
        }


AVG_OVER_TIME = Chart(
    "Average sentiment over time",
    ENRICHED,
    "echarts_timeseries_line",
    {
        "x_axis": "review_date",
        "time_grain_sqla": "P1M",
        "metrics": ["avg_sentiment"],
        "groupby": [],
        "row_limit": 10000,
        "y_axis_format": "+.2f",
        "markerEnabled": True,
        "show_legend": False,
        "rich_tooltip": True,
    },
    {
        "columns": [time_axis("P1M")],
        "metrics": ["avg_sentiment"],
        "orderby": [[time_axis("P1M"), True]],
        "row_limit": 10000,
    },
    ("avg_sentiment",),
    width=8,
)
NEGATIVE_SHARE = Chart(
    "Share of negative reviews",
    ENRICHED,
    "big_number_total",
    {
        "metric": "negative_share",
        "y_axis_format": ".1%",
        "subheader": "of all reviews",
        "header_font_size": 0.3,
        "subheader_font_size": 0.125,
    },
    {"columns": [], "metrics": ["negative_share"], "row_limit": 1},
    ("negative_share",),
    width=4,
)
BY_PRODUCT = Chart(
    "Sentiment by product",
    ENRICHED,
    "echarts_timeseries_bar",
    {
        "x_axis": "product",
        "metrics": ["avg_sentiment"],
        "groupby": [],
        "row_limit": 100,
        "x_axis_sort": "avg_sentiment",
        "x_axis_sort_asc": True,
        "y_axis_format": "+.2f",
        # The score's whole range: room left of the most negative bar for its value
        # label (auto bounds put it on top of the product names) and no exaggeration.
        "truncateYAxis": True,
        "y_axis_bounds": [-1, 1],
        "show_legend": False,
        "show_value": True,
        "orientation": "horizontal",
    },
    {
        "columns": ["product"],
        "metrics": ["avg_sentiment"],
        "orderby": [["avg_sentiment", True]],
        "row_limit": 100,
    },
    ("product", "avg_sentiment"),
)
NEGATIVE_BY_WEEK = Chart(
    "Negative share by week",
    ENRICHED,
    "echarts_timeseries_line",
    {
        "x_axis": "review_date",
        "time_grain_sqla": "P1W",
        # One line over all reviews, no smoothing: a week when one product floods the shop
        # with angry reviews stands out against ~55 reviews a week of the usual mix.
        "metrics": ["negative_share"],
        "groupby": [],
        "row_limit": 10000,
        "y_axis_format": ".0%",
        "show_legend": True,
        "legendOrientation": "top",
        "rich_tooltip": True,
    },
    {
        "columns": [time_axis("P1W")],
        "metrics": ["negative_share"],
        "orderby": [[time_axis("P1W"), True]],
        "row_limit": 10000,
    },
    ("review_date", "negative_share"),
)
#: Entity types the entities table leaves out: people (PER) are mostly the reviewers'
#: friends ("my friend Maria"), not what an analyst follows.
ENTITY_TYPES_LEFT_OUT = ("PER",)
TOP_ENTITIES = Chart(
    "Brands, shops and places in reviews: mentions and sentiment",
    ENTITIES,
    "table",
    {
        # Which names come up most, and with good or bad reviews: one row per entity,
        # most mentioned first, 8 a page (the donut it replaces had 12 near-equal slices
        # and no counts). The row limit is far above the demo's entities: no "row limit
        # reached" warning.
        "query_mode": "aggregate",
        "groupby": ["entity"],
        "metrics": ["count", "avg_sentiment", "negative_share"],
        "all_columns": [],
        "percent_metrics": [],
        "timeseries_limit_metric": "count",
        "order_desc": True,
        "row_limit": 1000,
        "page_length": 8,
        "include_search": False,
        # Bars only for the average sentiment: red left of zero, green right of it.
        "show_cell_bars": False,
        "color_pn": True,
        "column_config": {
            "count": {"d3NumberFormat": ",d"},
            "avg_sentiment": {
                "d3NumberFormat": "+.2f",
                "showCellBars": True,
                "alignPositiveNegative": True,
                "colorPositiveNegative": True,
            },
            "negative_share": {"d3NumberFormat": ".0%"},
        },
        "adhoc_filters": [
            {
                "clause": "WHERE",
                "expressionType": "SIMPLE",
                "subject": "entity_label",
                "operator": "NOT IN",
                "comparator": list(ENTITY_TYPES_LEFT_OUT),
            }
        ],
    },
    {
        "columns": ["entity"],
        "metrics": ["count", "avg_sentiment", "negative_share"],
        "orderby": [["count", False]],
        "row_limit": 1000,
        "filters": [{"col": "entity_label", "op": "NOT IN", "val": list(ENTITY_TYPES_LEFT_OUT)}],
    },
    ("entity", "count", "avg_sentiment"),
    width=5,
    height=60,
    first_name="Top entities",
)
#: Row limit of the live table: far above the negative reviews in the demo's `LIVE_DAYS`
#: window (about 85 at 3000 reviews a year); a warehouse with more gets the warning, rightly.
LIVE_ROW_LIMIT = 1000
MOST_NEGATIVE = Chart(
    "Most negative recent reviews (scored live)",
    LIVE,
    "table",
    {
        "query_mode": "raw",
        "all_columns": ["review_date", "product", "sentiment_score", "review"],
        "order_by_cols": ['["sentiment_score", true]'],
        # Every negative review of the live window, most negative first, 15 a page; not a
        # top 15: a result that fills `row_limit` makes Superset flag the chart "The row
        # limit set for the chart was reached. The chart may show partial data." (the
        # yellow triangle). The model scores every row of the window either way (the
        # filter and the sort are on its output), so the larger limit costs no inference.
        "row_limit": LIVE_ROW_LIMIT,
        "page_length": 15,
        "table_timestamp_format": "%Y-%m-%d",
        "column_config": {"sentiment_score": {"d3NumberFormat": "+.3f"}},
        "adhoc_filters": [
            {
                "clause": "WHERE",
                "expressionType": "SIMPLE",
                "subject": "sentiment",
                "operator": "==",
                "comparator": "negative",
            }
        ],
    },
    {
        # No "metrics" key, as the Explore view sends in raw mode: `metrics: []` makes
        # Superset GROUP BY every column (duplicate reviews collapse).
        "columns": ["review_date", "product", "sentiment_score", "review"],
        "orderby": [["sentiment_score", True]],
        "row_limit": LIVE_ROW_LIMIT,
        "filters": [{"col": "sentiment", "op": "==", "val": "negative"}],
    },
    ("sentiment_score", "review"),
    width=7,
    height=60,
)
LIKE_THIS_COLUMNS = ["similarity", "review_date", "product", "rating", "review"]
REVIEWS_LIKE_THIS = Chart(
    "Reviews like the newest one-star review (semantic search)",
    LIKE_THIS,
    "table",
    {
        "query_mode": "raw",
        "all_columns": LIKE_THIS_COLUMNS,
        "order_by_cols": ['["similarity", false]'],
        "row_limit": 100,
        "page_length": 10,
        "table_timestamp_format": "%Y-%m-%d",
        "column_config": {"similarity": {"d3NumberFormat": ".3f"}},
        "adhoc_filters": [],
    },
    {
        "columns": LIKE_THIS_COLUMNS,
        "orderby": [["similarity", False]],
        "row_limit": 100,
    },
    ("similarity", "review"),
    width=12,
    height=50,
)
#: Rows of the dashboard grid (each row's widths add up to 12).
LAYOUT: tuple[tuple[Chart, ...], ...] = (
    (AVG_OVER_TIME, NEGATIVE_SHARE),
    (BY_PRODUCT, NEGATIVE_BY_WEEK),
    (TOP_ENTITIES, MOST_NEGATIVE),
    (REVIEWS_LIKE_THIS,),
)
CHARTS: tuple[Chart, ...] = tuple(chart for row in LAYOUT for chart in row)
