"""`make superset-demo`: everything up on loopback, offline, from a fresh clone.

Demo warehouse, part 1 (generated news, the topic model fitted on it) ->
textlens server (default models + that registry) -> part 2 (reviews enriched
through the server, the market monitor's outputs; the file is then closed) ->
Superset home and gunicorn -> bootstrap (both dashboards and the Alert) ->
prints the URLs and login, then waits for Ctrl-C and stops both servers.
"""

from __future__ import annotations

import time
from pathlib import Path

#: The demo's Superset login: a loopback demo that prints it. Every other command
#: (`setup`, `bootstrap`) requires or generates a password instead.
DEMO_LOGIN = ("admin", "admin")


def run_demo(venv: Path, home: Path, port: int, reviews: int, *, hold: bool = True) -> int:
    from textlens.server.process import ServerProcess
    from textlens.superset_tools.bootstrap import bootstrap
    from textlens.superset_tools.demo_data import (
        NEWS_ROWS,
        fit_market_topics,
        prepare_market,
        prepare_warehouse,
        write_market_news,
    )
    from textlens.superset_tools.local import SupersetProcess, setup_home

    db = home / "warehouse.duckdb"
    registry = home / "registry"
    started = time.monotonic()
    print(f"textlens: writing {NEWS_ROWS} demo headlines to {db} and fitting the news "
          f"topics into {registry} (first time: about a minute)…", flush=True)  # fmt: skip
    write_market_news(db)
    print(f"topic model news-topics {fit_market_topics(db, registry)}", flush=True)
    print("textlens: starting the model server (default models + news-topics, offline)…",
          flush=True)  # fmt: skip
    with ServerProcess(env={"TEXTLENS_REGISTRY": str(registry.resolve())}) as server:
        print(f"textlens server on {server.target}; writing {reviews} demo reviews to {db} "
              "and enriching them (sentiment, entities)…", flush=True)  # fmt: skip
        print(prepare_warehouse(db, server.target, reviews).summary(), flush=True)
        market = prepare_market(db, server.target)
        print(f"monitor: {market.rows} headlines, {market.alerts} alert(s) in {market.out}",
              flush=True)  # fmt: skip
        print(f"Superset: setting up {home} (first time: about two minutes)…", flush=True)
        setup_home(venv, home, *DEMO_LOGIN)
        with SupersetProcess(venv, home, port=port) as superset:
            done = bootstrap(
                superset.url, db, server.target, username=DEMO_LOGIN[0], password=DEMO_LOGIN[1]
            )
            print(
                f"\nready in {time.monotonic() - started:.0f}s\n"
                f"  Voice of the customer: {done.dashboard_url}\n"
                f"  Market pulse:          {done.market_url}\n"
                f"  login:     {DEMO_LOGIN[0]} / {DEMO_LOGIN[1]}  (this demo only; `textlens "
                "superset setup` elsewhere generates one)\n"
                f"  SQL Lab:   {superset.url}/sqllab/  (try: SELECT review, sentiment(review), "
                "entities(review) FROM reviews LIMIT 20)\n"
                f"  Alert:     {superset.url}/alert/list/  (sends email once Celery worker, beat "
                "and Redis run: docs/superset.md)\n",
                flush=True,
            )
            if hold:
                print("Ctrl-C stops Superset and the textlens server.", flush=True)
                try:
                    while superset.proc.poll() is None:
                        time.sleep(1.0)
                except KeyboardInterrupt:
                    print("\nstopping…", flush=True)
    return 0
