"""`textlens superset bootstrap`: the database connection, datasets and dashboard, idempotently.

Imports the bundle through the database, dataset, chart and dashboard
importers in turn (each overwrites only its own kind; same UUIDs, so running it
again updates everything in place, a new target or file included), then saves each chart's query context with the real dataset ids, so
`/api/v1/chart/<id>/data/` answers for every chart (imported charts have none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textlens.superset_plugin import dashboard
from textlens.superset_plugin.api import SupersetClient
from textlens.superset_plugin.bundle import build_bundle
from textlens.superset_plugin.charts import CHARTS

#: Superset's importers, in dependency order (see the module docstring).
IMPORT_ORDER = ("database", "dataset", "chart", "dashboard")


def warehouse_uri(db: str | Path, target: str, *, read_only: bool = True) -> str:
    """The `duckdb+textlens` URL Superset uses (absolute path: Superset's cwd is elsewhere)."""
    path = Path(db).resolve()
    flag = "true" if read_only else "false"
    return f"duckdb+textlens:///{path}?read_only={flag}&textlens_target={target}"


@dataclass(frozen=True)
class Bootstrapped:
    """What the bootstrap made: ids to open and to test."""

    dashboard_id: int
    dashboard_url: str
    database_id: int
    chart_ids: dict[str, int]


def bootstrap(
    superset_url: str,
    db: str | Path,
    target: str,
    *,
    username: str = "admin",
    password: str = "admin",
) -> Bootstrapped:
    """Import the bundle for `db` served by `target`, then fix up the charts' query contexts."""
    client = SupersetClient(superset_url)
    client.login(username, password)
    bundle = build_bundle(warehouse_uri(db, target))
    for resource in IMPORT_ORDER:
        client.import_bundle(resource, bundle)
    board = client.dashboard(dashboard.SLUG)
    datasets = {d["table_name"]: int(d["id"]) for d in client.dashboard_datasets(dashboard.SLUG)}
    charts = {c["slice_name"]: int(c["id"]) for c in client.dashboard_charts(dashboard.SLUG)}
    missing = [c.name for c in CHARTS if c.name not in charts]
    if missing:
        raise RuntimeError(f"the imported dashboard lacks the charts {missing}")
    for chart in CHARTS:
        client.set_query_context(
            charts[chart.name], chart.query_context(datasets[chart.dataset.name])
        )
    database = client.find("database", "database_name", "textlens warehouse")
    if len(database) != 1:
        raise RuntimeError(f"expected one 'textlens warehouse' database, found {len(database)}")
    return Bootstrapped(
        dashboard_id=int(board["id"]),
        dashboard_url=f"{superset_url.rstrip('/')}/superset/dashboard/{dashboard.SLUG}/",
        database_id=int(database[0]["id"]),
        chart_ids={c.name: charts[c.name] for c in CHARTS},
    )
