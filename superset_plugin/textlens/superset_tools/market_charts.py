"""The "Market pulse" dashboard: negative share of the tickers that alerted against the rest, with
the alerts marked, topic x week,
the alerts table, sentiment toward each ticker (scored live), and the share of headlines
not scored (the language policy) per week.

Form data (`params`) is what the dashboard renders from; `query` (and the
mixed chart's second query) is the same question for the chart-data API,
saved as each chart's query context by the bootstrap. The alerts table is
also the content of the Superset Alert's email (`alert.py`).
"""

from __future__ import annotations

from textlens.superset_tools.charts import Chart, time_axis
from textlens.superset_tools.dashboard import Board
from textlens.superset_tools.market_datasets import (
    ALERT_EMAIL,
    ALERTS,
    NEWS_LIVE,
    NEWS_LIVE_DAYS,
    OTHER_TICKERS,
    SCORING,
    TICKER_WEEKS,
    TOPIC_WEEKS,
)

WEEK = time_axis("P1W", "week")
#: The topic model's label for texts near no topic. The heat map keeps its row: news of
#: a kind never seen before (the demo's recall) shows there first.
OUTLIER_TOPIC = "outlier"

#: Grey for the pooled line of the tickers that never alerted, under each name Superset's
#: color scale may know the series by (the group value, or metric and group).
GREY = "#9AA5B1"
OTHER_COLORS = {
    key: GREY
    for key in (OTHER_TICKERS, f"Negative, {OTHER_TICKERS}", f"negative_share, {OTHER_TICKERS}")
}
NEGATIVE_BY_TICKER = Chart(
    "Negative share by week: tickers with an alert vs the rest",
    TICKER_WEEKS,
    "mixed_timeseries",
    {
        "x_axis": "week",
        "time_grain_sqla": "P1W",
        # Query A: one line per ticker that alerted, and one grey line for all the others
        # together (their weekly share pooled: a ticker's 7-headline week no longer towers
        # over the alert). Query B: the weeks with an alert window, as big red markers on
        # the line of the ticker that alerted (alert_share is NULL elsewhere).
        "metrics": ["negative_share"],
        "groupby": ["series"],
        "adhoc_filters": [],
        "metrics_b": ["alert"],
        "groupby_b": [],
        "adhoc_filters_b": [],
        "seriesType": "line",
        "seriesTypeB": "scatter",
        "markerEnabled": True,
        "markerEnabledB": True,
        "markerSize": 4,
        "markerSizeB": 20,
        "yAxisIndex": 0,
        "yAxisIndexB": 0,
        "y_axis_format": ".0%",
        "y_axis_format_secondary": ".0%",
        "truncateYAxis": True,
        "y_axis_bounds": [0, 1],
        "row_limit": 10000,
        "row_limit_b": 10000,
        "order_desc": True,
        "order_desc_b": True,
        "show_legend": True,
        "legendOrientation": "right",
        "legendType": "plain",
        "rich_tooltip": True,
        "x_axis_time_format": "smart_date",
        "color_scheme": "supersetColors",
    },
    {
        "columns": [WEEK, "series"],
        "series_columns": ["series"],
        "metrics": ["negative_share"],
        "orderby": [[WEEK, True]],
        "row_limit": 10000,
    },
    ("series", "negative_share"),
    width=12,
    height=60,
    first_name="Negative share per ticker, alerts marked",
    more_queries=(
        {
            "columns": [WEEK],
            "metrics": ["alert"],
            "orderby": [[WEEK, True]],
            "row_limit": 10000,
        },
    ),
)
TOWARD_TICKER = Chart(
    f"Sentiment toward each ticker, last {NEWS_LIVE_DAYS} days (scored live)",
    NEWS_LIVE,
    "echarts_timeseries_bar",
    {
        "x_axis": "ticker",
        "metrics": ["avg_toward_ticker"],
        "groupby": [],
        "row_limit": 100,
        "x_axis_sort": "avg_toward_ticker",
        "x_axis_sort_asc": True,
        "y_axis_format": "+.2f",
        # The score's whole range, as "Sentiment by product": no exaggerated differences.
        "truncateYAxis": True,
        "y_axis_bounds": [-1, 1],
        "show_legend": False,
        "show_value": True,
        "orientation": "horizontal",
    },
    {
        "columns": ["ticker"],
        "metrics": ["avg_toward_ticker"],
        "orderby": [["avg_toward_ticker", True]],
        "row_limit": 100,
    },
    ("ticker", "avg_toward_ticker"),
    width=4,
    height=70,
)
TOPIC_HEATMAP = Chart(
    "Negative share by topic and week",
    TOPIC_WEEKS,
    "heatmap_v2",
    {
        "x_axis": "week",
        "time_grain_sqla": "P1W",
        "groupby": "topic",
        "metric": "negative_share",
        "adhoc_filters": [],
        "row_limit": 10000,
        "sort_x_axis": "alpha_asc",
        "sort_y_axis": "alpha_asc",
        "normalize_across": "heatmap",
        "legend_type": "continuous",
        "linear_color_scheme": "schemeOrRd",
        "xscale_interval": -1,
        "yscale_interval": -1,
        "left_margin": "auto",
        "bottom_margin": "auto",
        "value_bounds": [0, 1],
        "y_axis_format": ".0%",
        "x_axis_time_format": "%b %d",
        "show_legend": True,
        "show_percentage": False,
        "show_values": False,
        "normalized": False,
    },
    {
        "columns": [WEEK, "topic"],
        "metrics": ["negative_share"],
        "orderby": [[WEEK, True]],
        "row_limit": 10000,
    },
    ("topic", "negative_share"),
    width=8,
    height=70,
)
ALERT_COLUMNS = [
    "window_start", "dimension", "subject", "n", "negative_share", "baseline_share", "z",
    "example_headlines",
]  # fmt: skip
ALERTS_TABLE = Chart(
    "Alerts: spikes of negative share",
    ALERTS,
    "table",
    {
        "query_mode": "raw",
        "all_columns": ALERT_COLUMNS,
        "order_by_cols": ['["window_start", false]'],
        "row_limit": 1000,
        "page_length": 10,
        "table_timestamp_format": "%Y-%m-%d",
        # No cell bars: Superset draws positive numbers' bars green, and a high negative
        # share is bad news. The negative share in red instead, deeper the higher it is.
        "show_cell_bars": False,
        "column_config": {
            "negative_share": {"d3NumberFormat": ".0%"},
            "baseline_share": {"d3NumberFormat": ".0%"},
            "z": {"d3NumberFormat": ".1f"},
        },
        "conditional_formatting": [
            {
                "column": "negative_share",
                "operator": ">",
                "targetValue": 0,
                "colorScheme": "colorError",
            },
        ],
    },
    {
        # Raw mode without "metrics", as the Explore view sends it (see MOST_NEGATIVE).
        "columns": ALERT_COLUMNS,
        "orderby": [["window_start", False]],
        "row_limit": 1000,
    },
    ("subject", "negative_share", "example_headlines"),
    width=12,
    height=40,
)
EMAIL_COLUMNS = ["alert_on", "day", "items", "negative_share", "baseline_share", "headlines"]
#: The Superset Alert's content (TEXT: these rows are the email's table); on no dashboard.
ALERT_EMAIL_TABLE = Chart(
    "Alert email: new spikes of negative share",
    ALERT_EMAIL,
    "table",
    {
        "query_mode": "raw",
        "all_columns": EMAIL_COLUMNS,
        "order_by_cols": ['["share", false]'],
        "row_limit": 100,
    },
    {"columns": EMAIL_COLUMNS, "orderby": [["share", False]], "row_limit": 100},
    ("alert_on", "negative_share", "headlines"),
)
UNSCORED_SHARE = Chart(
    "Headlines not scored (a language the model does not read), per week",
    SCORING,
    "echarts_timeseries_line",
    {
        "x_axis": "week",
        "time_grain_sqla": "P1W",
        "metrics": ["unscored_share"],
        "groupby": [],
        "adhoc_filters": [],
        "row_limit": 10000,
        "y_axis_format": ".1%",
        # A share: 0 to 100% (left to itself, an all-zero week series got an axis to 120%).
        "truncateYAxis": True,
        "y_axis_bounds": [0, 1],
        "markerEnabled": True,
        "show_legend": False,
        "rich_tooltip": True,
        "x_axis_time_format": "smart_date",
    },
    {
        "columns": [WEEK],
        "metrics": ["unscored_share"],
        "orderby": [[WEEK, True]],
        "row_limit": 10000,
    },
    ("unscored_share",),
    width=12,
    height=40,
)
MARKET = Board(
    "Market pulse",
    "market-pulse",
    ((NEGATIVE_BY_TICKER,), (TOPIC_HEATMAP, TOWARD_TICKER), (ALERTS_TABLE,), (UNSCORED_SHARE,)),
    # The alert markers in red (by default they would take the next color of the scheme),
    # the tickers without an alert in grey.
    label_colors={"alert": "#D7263D", **OTHER_COLORS},
)
MARKET_CHARTS = MARKET.charts
#: Charts of the bundle that are on no dashboard.
EMAIL_CHARTS = (ALERT_EMAIL_TABLE,)
