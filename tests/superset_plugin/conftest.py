"""A real Superset (from .venv-superset, under gunicorn on loopback) over a real textlens server.

Session fixtures, in order: the demo news and the topic model fitted on them
(`market_registry`), the textlens server on the default models and that
registry, the demo warehouse (generated reviews enriched through that server,
and the market monitor's outputs beside it), a Superset home (config, SQLite
metadata, admin) and the Superset process, then the bootstrap that imports both
dashboards and the Alert. Everything in the `superset` marker.

Skips only where it must: without Chromium and chromedriver (the browser
test, with the reason), or without .venv-superset outside CI (build it with
`make superset-venv`; CI builds it before `make test`, where its absence fails).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.superset_plugin.helpers import (
    ADMIN,
    CHROMEDRIVER,
    CHROMIUM,
    E2E_NEWS,
    E2E_REVIEWS,
    SUPERSET_VENV,
)


@pytest.fixture(scope="session")
def superset_venv() -> Path:
    if not (SUPERSET_VENV / "bin" / "gunicorn").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SUPERSET_VENV} is missing in CI: .ci/run must run `make superset-venv`")
        pytest.skip(f"{SUPERSET_VENV} is missing: build it with `make superset-venv`")
    return SUPERSET_VENV


@pytest.fixture(scope="session")
def chromium() -> tuple[Path, Path]:
    """(chromium, chromedriver); where Debian's packages are not installed, skips saying
    why, or in CI (`CI` set) fails: there a missing browser is a broken run, not a pass."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing or shutil.which("chromium") is None:
        why = (
            f"headless Chromium is not installed ({', '.join(missing) or 'not on PATH'}); "
            "install it with `apt-get install -y chromium chromium-driver` (.ci/run does)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"in CI: {why}")
        pytest.skip(why)
    return CHROMIUM, CHROMEDRIVER


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse's directory: warehouse.duckdb, registry/ and the monitor's monitor/."""
    return tmp_path_factory.mktemp("superset-warehouse")


@pytest.fixture(scope="session")
def market_registry(e2e_dir: Path) -> Path:
    """The news table in the warehouse and `news-topics` fitted on it (before the server)."""
    from textlens.superset_tools.demo_data import fit_market_topics, write_market_news

    write_market_news(e2e_dir / "warehouse.duckdb", E2E_NEWS)
    fit_market_topics(e2e_dir / "warehouse.duckdb", e2e_dir / "registry")
    return e2e_dir / "registry"


@pytest.fixture(scope="session")
def server_metrics_url() -> str:
    """The textlens server's Prometheus /metrics: how a test counts the texts it scored."""
    from textlens.superset_tools.local import free_port

    return f"http://127.0.0.1:{free_port()}/metrics"


@pytest.fixture(scope="session")
def textlens_server(market_registry: Path, server_metrics_url: str) -> Iterator[Any]:
    """A real `textlens serve` on the default models and the registry (news-topics)."""
    from textlens.server.process import ServerProcess

    port = server_metrics_url.rsplit(":", 1)[1].split("/")[0]
    env = {"TEXTLENS_REGISTRY": str(market_registry), "TEXTLENS_METRICS_PORT": port}
    with ServerProcess(env=env) as server:
        yield server


@pytest.fixture(scope="session")
def e2e_warehouse(textlens_server: Any, e2e_dir: Path) -> Path:
    """Reviews enriched through the server, then the market monitor's two runs."""
    from textlens.superset_tools.demo_data import prepare_market, prepare_warehouse

    path = e2e_dir / "warehouse.duckdb"
    prepare_warehouse(path, textlens_server.target, E2E_REVIEWS)
    prepare_market(path, textlens_server.target)
    return path


@pytest.fixture(scope="session")
def superset(superset_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Superset on a free loopback port, with a fresh home (SQLite metadata, admin/admin)."""
    from textlens.superset_tools.local import SupersetProcess, setup_home

    home = tmp_path_factory.mktemp("superset-home")
    setup_home(superset_venv, home, *ADMIN)
    with SupersetProcess(superset_venv, home) as process:
        yield process
    print(f"\nSuperset log tail:\n{process.output()[-3000:]}")


@pytest.fixture(scope="session")
def bootstrapped(superset: Any, e2e_warehouse: Path, textlens_server: Any) -> Any:
    from textlens.superset_tools.bootstrap import bootstrap

    user, password = ADMIN
    return bootstrap(
        superset.url, e2e_warehouse, textlens_server.target, username=user, password=password
    )


@pytest.fixture
def api(superset: Any) -> Any:
    from textlens.superset_tools.api import SupersetClient

    client = SupersetClient(superset.url)
    client.login(*ADMIN)
    return client
