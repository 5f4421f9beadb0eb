"""Issue 22 item 1: SQL Lab on the bootstrapped database cannot reach the host's files.

The outside tester, with SQL Lab on `duckdb+textlens://...?read_only=true`,
read `superset_config.py` (its SECRET_KEY forges admin sessions), the TLS key
and `/proc/self/environ`, listed `glob('/**')` and wrote `COPY (...) TO
'<path>.py'`. Now every statement below is refused through SQL Lab's own API,
with DML allowed (so Superset's own DML check is not what refuses them), and
again after an editor strips the sandbox from the URL and switches DuckDB's
external access back on: the engine spec forces it on every engine. The
dashboards still read the monitor's Parquet (test_superset_api's chart tests,
and the browser test).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from textlens.superset_tools.api import SupersetError
from textlens.superset_tools.market_datasets import monitor_dir

pytestmark = pytest.mark.superset


@pytest.fixture
def dml_allowed(bootstrapped: Any, api: Any) -> Iterator[int]:
    """The bootstrapped database with DML on: only the sandbox stands in the way."""
    database = f"/api/v1/database/{bootstrapped.database_id}"
    api.request("PUT", database, body={"allow_dml": True})
    try:
        yield int(bootstrapped.database_id)
    finally:
        api.request("PUT", database, body={"allow_dml": False})


def attacks(superset: Any, e2e_warehouse: Path) -> list[tuple[str, str]]:
    """(statement, what DuckDB's or the sandbox's refusal says)."""
    config = Path(superset.home).resolve() / "superset_config.py"
    monitor = monitor_dir(e2e_warehouse)
    evil = e2e_warehouse.parent / "evil.py"
    return [
        (f"SELECT * FROM read_text('{config}')", "disabled by configuration"),
        ("SELECT * FROM read_blob('/proc/self/environ')", "disabled by configuration"),
        ("SELECT * FROM glob('/**')", "disabled by configuration"),
        # Out of an allowed directory through `..` (the warehouse file itself is readable:
        # DuckDB allows its own database file, which SQL Lab can query anyway).
        (f"SELECT * FROM read_text('{monitor}/{os.path.relpath(config, monitor)}')", "disabled"),
        (f"COPY (SELECT 'import os' AS x) TO '{evil}'", "textlens sandbox"),
        (f"COPY (SELECT 1 AS x) TO '{monitor}/alerts.parquet'", "textlens sandbox"),
        ("INSTALL httpfs", "textlens sandbox"),
        ("LOAD httpfs", "textlens sandbox"),
        ("SET enable_external_access = true", "locked"),
        ("SET allowed_directories = ['/']", "locked"),
        ("SET lock_configuration = false", "locked"),
    ]


def assert_all_refused(api: Any, database_id: int, cases: list[tuple[str, str]]) -> None:
    let_through = []
    for sql, why in cases:
        try:
            api.execute_sql(database_id, sql, limit=10)
        except SupersetError as exc:
            assert why in str(exc), (sql, str(exc)[:500])
        else:
            let_through.append(sql)
    assert not let_through, f"SQL Lab ran: {let_through}"


def test_sql_lab_cannot_reach_the_hosts_files(
    dml_allowed: int, api: Any, superset: Any, e2e_warehouse: Path
) -> None:
    monitor = monitor_dir(e2e_warehouse)
    before = sorted(p.name for p in monitor.iterdir())
    assert_all_refused(api, dml_allowed, attacks(superset, e2e_warehouse))
    assert not (e2e_warehouse.parent / "evil.py").exists()
    assert sorted(p.name for p in monitor.iterdir()) == before
    # What the dashboards need: the monitor's Parquet, and the model through the server.
    rows = api.execute_sql(
        dml_allowed, f"SELECT count(*) AS n FROM read_parquet('{monitor}/alerts.parquet')", limit=1
    )["data"]
    assert rows[0]["n"] > 0
    answer = api.execute_sql(dml_allowed, "SELECT sentiment('I love this phone') AS s", limit=1)
    assert answer["data"] == [{"s": "positive"}]


def test_an_edited_url_does_not_open_it_again(
    dml_allowed: int, api: Any, superset: Any, e2e_warehouse: Path
) -> None:
    """An editor drops `textlens_sandbox` and asks for external access: still refused."""
    database = f"/api/v1/database/{dml_allowed}"
    uri = api.request("GET", f"{database}/connection")["result"]["sqlalchemy_uri"]
    assert "textlens_sandbox=true" in uri
    edited = (
        uri.replace("&textlens_sandbox=true", "")
        + "&enable_external_access=true&lock_configuration=false"
    )
    api.request("PUT", database, body={"sqlalchemy_uri": edited})
    try:
        shown = api.request("GET", f"{database}/connection")["result"]["sqlalchemy_uri"]
        assert "textlens_sandbox" not in shown and "enable_external_access=true" in shown
        assert_all_refused(api, dml_allowed, attacks(superset, e2e_warehouse)[:5])
        answer = api.execute_sql(dml_allowed, "SELECT sentiment('awful') AS s", limit=1)
        assert answer["data"] == [{"s": "negative"}]
    finally:
        api.request("PUT", database, body={"sqlalchemy_uri": uri})
