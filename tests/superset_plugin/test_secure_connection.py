"""Superset over TLS with a read token: bootstrap stores the token encrypted, queries work.

A second textlens server (TLS, `read_tokens`) and a copy of the warehouse (a
new file: DuckDB shares a file's functions within Superset's process, so one
file keeps one configuration) are bootstrapped into the running Superset; SQL
Lab then calls the model through it. The token must not appear in what
Superset's API shows. The test bootstraps the usual connection back at the end.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.superset_plugin.helpers import ADMIN

pytestmark = pytest.mark.superset

TOKEN = "superset-reader-8e2b"


@pytest.fixture
def secure_server(default_served: Any, pki: dict[str, Path]) -> Any:
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    with InProcessServer(
        rebatch(default_served),
        tls_cert=pki["server_cert"],
        tls_key=pki["server_key"],
        read_tokens=[TOKEN],
    ) as server:
        yield server


def test_bootstrap_with_token_and_tls(
    bootstrapped: Any,
    superset: Any,
    api: Any,
    e2e_warehouse: Path,
    textlens_server: Any,
    secure_server: Any,
    pki: dict[str, Path],
    tmp_path: Path,
) -> None:
    from textlens.superset_tools.bootstrap import bootstrap

    copy = tmp_path / "secure-warehouse.duckdb"
    shutil.copyfile(e2e_warehouse, copy)
    try:
        done = bootstrap(
            superset.url,
            copy,
            secure_server.target,
            username=ADMIN[0],
            password=ADMIN[1],
            monitor=tmp_path / "no-market",
            token=TOKEN,
            tls_ca=pki["ca"],
        )
        assert done.database_id == bootstrapped.database_id  # updated in place
        shown = api.request("GET", f"/api/v1/database/{done.database_id}/connection")["result"]
        uri = urllib.parse.unquote(shown["sqlalchemy_uri"])
        assert TOKEN not in str(shown) and "XXXXXXXXXX" in uri
        assert "textlens_tls_ca=" in uri and secure_server.target in uri
        result = api.execute_sql(
            done.database_id, "SELECT sentiment('I love this phone') AS s", limit=1
        )
        assert result["data"] == [{"s": "positive"}]
    finally:
        bootstrap(
            superset.url,
            e2e_warehouse,
            textlens_server.target,
            username=ADMIN[0],
            password=ADMIN[1],
        )


SECURE_CHECK = """
import sys
import sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
with engine.connect() as conn:
    print(conn.execute(sa.text("SELECT sentiment('awful, broke in a day')")).scalar())
"""


def test_dialect_over_tls_under_sqlalchemy_14(
    superset_venv: Path, secure_server: Any, pki: dict[str, Path], tmp_path: Path
) -> None:
    """Superset's SQLAlchemy 1.4: the token as the URL's password, TLS from the URL."""
    from textlens.superset_tools.bootstrap import PASSWORD_MASK, warehouse_uri

    uri = warehouse_uri(tmp_path / "w.duckdb", secure_server.target, token=True, tls_ca=pki["ca"])
    uri = uri.replace(PASSWORD_MASK, TOKEN).replace("read_only=true", "read_only=false")
    python = str(superset_venv / "bin" / "python")
    done = subprocess.run(
        [python, "-c", SECURE_CHECK, uri], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "negative"
    refused = subprocess.run(
        [python, "-c", SECURE_CHECK, uri.replace(TOKEN, "wrong-token")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0 and "not one this server accepts" in refused.stderr
