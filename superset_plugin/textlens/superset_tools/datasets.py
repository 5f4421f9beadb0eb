"""The demo's datasets: what the dashboard reads, described once for the bundle and the tests.

* `reviews_enriched`: the table `textlens enrich` writes (sentiment, sentiment_score,
  entities precomputed): the fast charts.
* `review_entities`: a virtual dataset, one row per entity (unnest of the
  enriched `entities` column), with its review's sentiment.
* `reviews_live`: a virtual dataset that calls the UDFs live on the most
  recent reviews (SQL a builder can copy).
* `reviews`: the raw table with *calculated columns* `sentiment(review)` and
  `sentiment_score(review)`, the way a builder adds a model to any dataset.
* `reviews_like_this`: a virtual dataset over the embedding index: the reviews nearest
  in meaning to the newest one-star review (`similar_to`, docs/search.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textlens.superset_tools.ids import stable_uuid

#: (name, type, is_dttm, expression or None)
Column = tuple[str, str, bool, str | None]
#: (name, SQL expression, d3 format or None)
Metric = tuple[str, str, str | None]

NEGATIVE_SHARE = "AVG(CASE WHEN sentiment = 'negative' THEN 1.0 ELSE 0.0 END)"
COMMON_METRICS: list[Metric] = [("count", "COUNT(*)", ",d")]
SENTIMENT_METRICS: list[Metric] = [
    ("avg_sentiment", "AVG(sentiment_score)", "+.2f"),
    ("negative_share", NEGATIVE_SHARE, ".1%"),
]
REVIEW_COLUMNS: list[Column] = [
    ("review_id", "BIGINT", False, None),
    ("review_date", "DATE", True, None),
    ("product", "VARCHAR", False, None),
    ("brand", "VARCHAR", False, None),
    ("rating", "TINYINT", False, None),
    ("review", "VARCHAR", False, None),
]
#: Display names (legends, table headers) of the review datasets' columns and metrics.
REVIEW_LABELS = {
    "review_date": "Date",
    "product": "Product",
    "review": "Review",
    "sentiment_score": "Sentiment",
    "avg_sentiment": "Avg sentiment",
    "negative_share": "Negative share",
}
#: Days of the newest reviews `reviews_live` scores live.
LIVE_DAYS = 21
#: Stands for the monitor's output directory in a dataset's SQL (absolute paths are only
#: known at bootstrap time: see `Dataset.config`).
MONITOR_DIR = "$TEXTLENS_MONITOR"


@dataclass(frozen=True)
class Dataset:
    """One Superset dataset: physical when `sql` is None."""

    name: str
    description: str
    columns: list[Column]
    metrics: list[Metric] = field(default_factory=list)
    sql: str | None = None
    main_dttm_col: str = "review_date"
    #: Display names of metrics and columns (legends, tooltips, table headers).
    verbose_names: dict[str, str] = field(default_factory=dict)

    @property
    def uuid(self) -> str:
        return stable_uuid(f"dataset/{self.name}")

    def config(self, database_uuid: str, monitor: str | None = None) -> dict[str, Any]:
        """The dataset's YAML (as a dict) in Superset's import bundle format.

        `monitor` replaces MONITOR_DIR in the SQL: the directory `textlens monitor`
        writes to, as Superset's workers see it.
        """
        sql = self.sql
        if sql is not None and MONITOR_DIR in sql:
            if monitor is None:
                raise ValueError(f"dataset {self.name} reads the monitor's output: pass monitor")
            sql = sql.replace(MONITOR_DIR, monitor.replace("'", "''"))
        return {
            "table_name": self.name,
            "main_dttm_col": self.main_dttm_col,
            "description": self.description,
            "default_endpoint": None,
            "offset": 0,
            "cache_timeout": None,
            "schema": "main",
            "sql": sql,
            "params": None,
            "template_params": None,
            "filter_select_enabled": True,
            "fetch_values_predicate": None,
            "extra": None,
            "normalize_columns": False,
            "always_filter_main_dttm": False,
            "uuid": self.uuid,
            "metrics": [
                {
                    "metric_name": name,
                    "verbose_name": self.verbose_names.get(name),
                    "metric_type": None,
                    "expression": expression,
                    "description": None,
                    "d3format": d3format,
                    "extra": {},
                    "warning_text": None,
                }
                for name, expression, d3format in self.metrics + COMMON_METRICS
            ],
            "columns": [
                {
                    "column_name": name,
                    "verbose_name": self.verbose_names.get(name),
                    "is_dttm": is_dttm,
                    "is_active": True,
                    "type": sql_type,
                    "advanced_data_type": None,
                    "groupby": True,
                    "filterable": True,
                    "expression": expression,
                    "description": None,
                    "python_date_format": None,
                    "extra": {},
                }
                for name, sql_type, is_dttm, expression in self.columns
            ],
            "version": "1.0.0",
            "database_uuid": database_uuid,
        }


ENRICHED = Dataset(
    "reviews_enriched",
    "Reviews with sentiment and entities precomputed by `textlens enrich`.",
    [
        *REVIEW_COLUMNS,
        ("sentiment", "VARCHAR", False, None),
        ("sentiment_score", "DOUBLE", False, None),
    ],
    SENTIMENT_METRICS,
    verbose_names=REVIEW_LABELS,
)
ENTITIES = Dataset(
    "review_entities",
    "One row per named entity found in a review (unnest of entities()), with the review's "
    "sentiment.",
    [
        ("review_id", "BIGINT", False, None),
        ("review_date", "DATE", True, None),
        ("product", "VARCHAR", False, None),
        ("entity", "VARCHAR", False, None),
        ("entity_label", "VARCHAR", False, None),
        ("sentiment", "VARCHAR", False, None),
        ("sentiment_score", "DOUBLE", False, None),
    ],
    SENTIMENT_METRICS,
    sql=(
        "SELECT review_id, review_date, product, ent.text AS entity, ent.label AS entity_label,\n"
        "       sentiment, sentiment_score\n"
        "FROM (SELECT review_id, review_date, product, sentiment, sentiment_score,\n"
        "             unnest(entities) AS ent\n"
        "      FROM reviews_enriched)"
    ),
    verbose_names={**REVIEW_LABELS, "entity": "Entity", "count": "Mentions"},
)
LIVE = Dataset(
    "reviews_live",
    f"The last {LIVE_DAYS} days of reviews, scored live by the textlens server.",
    [
        *REVIEW_COLUMNS,
        ("sentiment", "VARCHAR", False, None),
        ("sentiment_score", "DOUBLE", False, None),
    ],
    SENTIMENT_METRICS,
    sql=(
        "SELECT *, sentiment(review) AS sentiment, sentiment_score(review) AS sentiment_score\n"
        "FROM reviews\n"
        f"WHERE review_date > (SELECT max(review_date) FROM reviews) - INTERVAL {LIVE_DAYS} DAY"
    ),
    verbose_names=REVIEW_LABELS,
)
RAW = Dataset(
    "reviews",
    "The raw reviews; `live_sentiment` and `live_score` are calculated columns "
    "that call the textlens functions.",
    [
        *REVIEW_COLUMNS,
        ("live_sentiment", "VARCHAR", False, "sentiment(review)"),
        ("live_score", "DOUBLE", False, "sentiment_score(review)"),
    ],
)
#: The index `prepare_warehouse` builds over `reviews` (docs/search.md).
REVIEW_INDEX = "reviews"
LIKE_THIS = Dataset(
    "reviews_like_this",
    "The 20 reviews nearest in meaning to the newest one-star review (similar_to over the "
    "embedding index `reviews`): a pattern to copy with another id.",
    [
        ("review_id", "BIGINT", False, None),
        ("similarity", "DOUBLE", False, None),
        ("review_date", "DATE", True, None),
        ("product", "VARCHAR", False, None),
        ("rating", "TINYINT", False, None),
        ("review", "VARCHAR", False, None),
    ],
    sql=(
        "SELECT s.id AS review_id, round(s.score::DOUBLE, 3) AS similarity, r.review_date,\n"
        "       r.product, r.rating, s.text AS review\n"
        f"FROM similar_to('{REVIEW_INDEX}',\n"
        "                (SELECT max(review_id) FROM reviews WHERE rating = 1), 20) s\n"
        "JOIN reviews r ON r.review_id = s.id"
    ),
    verbose_names={**REVIEW_LABELS, "similarity": "Similarity", "rating": "Stars"},
)
DATASETS = (ENRICHED, ENTITIES, LIVE, RAW, LIKE_THIS)
