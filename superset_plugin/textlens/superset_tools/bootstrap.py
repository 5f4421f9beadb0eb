"""`textlens superset bootstrap`: the connection, datasets, dashboards and Alert, idempotently.

Imports the bundle through the database, dataset, chart and dashboard
importers in turn (each overwrites only its own kind; same UUIDs, so running it
again updates everything in place, a new target or file included), then saves
each chart's query context with the real dataset ids, so
`/api/v1/chart/<id>/data/` answers for every chart (imported charts have none).
With market data (the monitor's output next to the warehouse) it also brings
"Market pulse" and creates or updates its Superset Alert (`alert.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from textlens.superset_tools.alert import DEFAULT_RECIPIENT, AlertTarget, ensure_alert
from textlens.superset_tools.api import SupersetClient
from textlens.superset_tools.bundle import DATABASE_FILE, DATABASE_NAME, build_bundle
from textlens.superset_tools.charts import Chart
from textlens.superset_tools.dashboard import VOICE, Board
from textlens.superset_tools.market_charts import ALERT_EMAIL_TABLE, MARKET
from textlens.superset_tools.market_datasets import monitor_dir

#: Superset's importers, in dependency order (see the module docstring).
IMPORT_ORDER = ("database", "dataset", "chart", "dashboard")


#: Superset's placeholder for a password it keeps encrypted (superset.constants.PASSWORD_MASK).
PASSWORD_MASK = "X" * 10


def warehouse_uri(
    db: str | Path,
    target: str,
    *,
    read_only: bool = True,
    token: bool = False,
    tls_ca: str | Path | None = None,
    allowed: tuple[str | Path, ...] = (),
) -> str:
    """The `duckdb+textlens` URL Superset uses (absolute path: Superset's cwd is elsewhere).

    With `token`, the URL carries Superset's password placeholder: the token
    itself goes in the import's `passwords`, which Superset stores encrypted and
    never shows; the dialect reads it as the URL's password. The URL asks for
    the sandbox (which the engine spec forces anyway) with `allowed` as the only
    directories SQL may read: the monitor's output, for Market pulse.
    """
    path = Path(db).resolve()
    flag = "true" if read_only else "false"
    auth = f":{PASSWORD_MASK}@" if token else ""
    uri = (
        f"duckdb+textlens://{auth}/{path}?read_only={flag}&textlens_target={target}"
        "&textlens_sandbox=true"
    )
    if allowed:
        dirs = ",".join(str(Path(d).resolve()) for d in allowed)
        uri += f"&textlens_allowed_directories={quote(dirs, safe='/,')}"
    if tls_ca is not None:
        uri += f"&textlens_tls_ca={quote(str(Path(tls_ca).resolve()), safe='/')}"
    return uri


def has_market_data(monitor: Path) -> bool:
    """Whether `textlens monitor` has written the market data Market pulse reads."""
    return all((monitor / name).is_file() for name in ("windows.parquet", "alerts.parquet"))


@dataclass(frozen=True)
class Bootstrapped:
    """What the bootstrap made: ids to open and to test (market_* are 0/'' without market)."""

    dashboard_id: int
    dashboard_url: str
    database_id: int
    chart_ids: dict[str, int]
    market_dashboard_id: int = 0
    market_url: str = ""
    market_chart_ids: dict[str, int] | None = None
    alert_id: int = 0


def _fix_charts(client: SupersetClient, board: Board) -> dict[str, int]:
    """Save each chart's query context on the imported dataset ids; chart name -> id."""
    datasets = {d["table_name"]: int(d["id"]) for d in client.dashboard_datasets(board.slug)}
    charts = {c["slice_name"]: int(c["id"]) for c in client.dashboard_charts(board.slug)}
    missing = [c.name for c in board.charts if c.name not in charts]
    if missing:
        raise RuntimeError(f"the imported dashboard {board.title!r} lacks the charts {missing}")
    for chart in board.charts:
        client.set_query_context(
            charts[chart.name], chart.query_context(datasets[chart.dataset.name])
        )
    return {c.name: charts[c.name] for c in board.charts}


def _fix_chart(client: SupersetClient, chart: Chart) -> int:
    """Save the query context of `chart`, which is on no dashboard (found by name); its id."""
    found = client.find("chart", "slice_name", chart.name)
    datasets = client.find("dataset", "table_name", chart.dataset.name)
    if len(found) != 1 or len(datasets) != 1:
        raise RuntimeError(
            f"expected one chart {chart.name!r} and one dataset {chart.dataset.name!r}, found "
            f"{len(found)} and {len(datasets)}"
        )
    chart_id = int(found[0]["id"])
    client.set_query_context(chart_id, chart.query_context(int(datasets[0]["id"])))
    return chart_id


def bootstrap(
    superset_url: str,
    db: str | Path,
    target: str,
    *,
    username: str = "admin",
    password: str,
    monitor: Path | None = None,
    alert_recipients: tuple[str, ...] = (DEFAULT_RECIPIENT,),
    token: str | None = None,
    tls_ca: str | Path | None = None,
) -> Bootstrapped:
    """Import the bundle for `db` served by `target`, fix the query contexts, set the Alert.

    `monitor` is the market monitor's output (default: `monitor/` next to `db`);
    where it has none, only "Voice of the customer" is imported. `token` (a
    read token of a server with `read_tokens`) is stored as the connection's
    encrypted password; `tls_ca` makes the connection TLS, verified by that CA.
    `password` (the Superset user's) has no default: admin/admin is the demo's only.
    """
    monitor = (monitor or monitor_dir(Path(db))).resolve()
    market = has_market_data(monitor)
    base = superset_url.rstrip("/")
    client = SupersetClient(superset_url)
    client.login(username, password)
    uri = warehouse_uri(
        db, target, token=bool(token), tls_ca=tls_ca, allowed=(monitor,) if market else ()
    )
    bundle = build_bundle(uri, str(monitor) if market else None)
    passwords = {DATABASE_FILE: token} if token else {}
    for resource in IMPORT_ORDER:
        client.import_bundle(resource, bundle, passwords=passwords)
    database = client.find("database", "database_name", DATABASE_NAME)
    if len(database) != 1:
        raise RuntimeError(f"expected one {DATABASE_NAME!r} database, found {len(database)}")
    database_id = int(database[0]["id"])
    done = Bootstrapped(
        dashboard_id=int(client.dashboard(VOICE.slug)["id"]),
        dashboard_url=f"{base}/superset/dashboard/{VOICE.slug}/",
        database_id=database_id,
        chart_ids=_fix_charts(client, VOICE),
    )
    if not market:
        return done
    market_charts = _fix_charts(client, MARKET)
    market_charts[ALERT_EMAIL_TABLE.name] = _fix_chart(client, ALERT_EMAIL_TABLE)
    market_url = f"{base}/superset/dashboard/{MARKET.slug}/"
    alert_id = ensure_alert(
        client,
        AlertTarget(
            database_id,
            market_charts[ALERT_EMAIL_TABLE.name],
            str(monitor),
            alert_recipients,
            dashboard_url=market_url,
        ),
    )
    return Bootstrapped(
        dashboard_id=done.dashboard_id,
        dashboard_url=done.dashboard_url,
        database_id=database_id,
        chart_ids=done.chart_ids,
        market_dashboard_id=int(client.dashboard(MARKET.slug)["id"]),
        market_url=market_url,
        market_chart_ids=market_charts,
        alert_id=alert_id,
    )
