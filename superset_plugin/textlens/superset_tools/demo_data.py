"""The demo warehouse: generated reviews and news, the enriched reviews, the monitor's outputs.

Everything is written before Superset opens the file (read-only): DuckDB lets
one writer or many readers hold a file, never both. The order matters for the
"Market pulse" half: `write_market_news` (the `news` table), then
`fit_market_topics` (in this process, before the textlens server starts, so
the server serves the registry with the new topic model from its first
request; names masked, see `market_data.topic_masks`), then `prepare_market`
runs `textlens monitor` (by ticker and by topic) through that server into
`<warehouse dir>/monitor/`, which Superset reads with `read_parquet` (no lock
on the warehouse).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textlens.jobs.enrich import EnrichResult, enrich
from textlens.superset_tools.datasets import REVIEW_INDEX
from textlens.superset_tools.market_datasets import monitor_dir

if TYPE_CHECKING:
    from textlens.monitor import MonitorResult

ENRICHED_TABLE = "reviews_enriched"
NEWS_TABLE = "news"
NEWS_ROWS = 4000
#: The topic model `textlens topics fit` registers for the demo, and how it is fitted:
#: k-means to ten topics (the seven kinds of ordinary news, three of them split in two:
#: upgrades apart from ratings, new factories apart from output, launch events apart from
#: launch results). The recall has too few distinct headlines for a topic of its own: its
#: headlines are outliers or "regulators", so the heat map's outlier row lights up in the
#: incident's week.
TOPIC_MODEL = "news-topics"
TOPIC_COUNT = 10
TOPIC_SEED = 7
#: Windows, baseline and test of the ticker monitor (the monitor's defaults, written out).
MONITOR_WINDOW = "1d"
MONITOR_BASELINE = "28d"


def prepare_warehouse(db: Path, target: str, reviews: int = 3000) -> EnrichResult:
    """(Re)create `reviews` and enrich it through the server at `target` (remote mode)."""
    import duckdb

    from textlens.samples.reviews import create_reviews_table

    db.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db)) as con:
        create_reviews_table(con, "reviews", reviews, duplicate_fraction=0.1)
    index_reviews(db, target)
    return enrich(
        table="reviews",
        column="review",
        out=ENRICHED_TABLE,
        db=db,
        tasks=["sentiment", "entities"],
        target=target,
        replace=True,
        progress=False,
    )


def index_reviews(db: Path, target: str) -> None:
    """The embedding index `reviews_like_this` searches (rebuilt: the table was recreated)."""
    from textlens.connectors.duckdb.search import create_index
    from textlens.connectors.duckdb.session import open_session

    con, registration = open_session(db, target=target)
    try:
        create_index(
            registration, REVIEW_INDEX, "reviews", "review_id", "review",
            replace_existing=True, progress=False,
        )  # fmt: skip
    finally:
        registration.close()
        con.close()


def write_market_news(db: Path, n: int = NEWS_ROWS) -> int:
    """(Re)create the `news` table (generated headlines and posts) in `db`."""
    import duckdb

    from textlens.samples.market_news import create_news_table

    db.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db)) as con:
        create_news_table(con, NEWS_TABLE, n)
    return n


def fit_market_topics(db: Path, registry: Path, *, refit: bool = False) -> str:
    """`textlens topics fit` on the headlines into `registry`; returns the current version.

    Skipped when the registry already has a current `news-topics` (the fit is
    deterministic; about half a minute on two cores). Needs `textlens[topics]`.
    """
    from textlens.samples.market_news import topic_masks
    from textlens.server.model_store import ModelStore
    from textlens.server.topics.clustering import ClusterConfig
    from textlens.server.topics.fit import TopicsJob, run_topics_fit
    from textlens.server.training.sources import Source

    current = ModelStore(registry).current(TOPIC_MODEL)
    if current is not None and not refit:
        return current[0]
    job = TopicsJob(
        data=Source(query=f"SELECT id, headline AS text FROM {NEWS_TABLE}", db=db),
        cluster=ClusterConfig(topics=TOPIC_COUNT, seed=TOPIC_SEED, outlier_quantile=0.01),
        masks=topic_masks(),
        register=TOPIC_MODEL,
        registry=registry,
        progress=False,
        command=f"textlens topics fit --register {TOPIC_MODEL} --topics {TOPIC_COUNT}",
    )
    result = run_topics_fit(job)
    assert result.version is not None
    return result.version


def prepare_market(db: Path, target: str, out: Path | None = None) -> MonitorResult:
    """Run the monitor by ticker and by topic over `db` (read-only) through `target`."""
    from textlens.monitor import MonitorSpec, run_monitor

    return run_monitor(
        MonitorSpec(
            db=db, table=NEWS_TABLE, text="headline", time="published_at", by=["ticker"],
            by_topic=TOPIC_MODEL, out=out or monitor_dir(db), window=MONITOR_WINDOW,
            baseline=MONITOR_BASELINE, target=target, progress=False,
        )
    )  # fmt: skip
