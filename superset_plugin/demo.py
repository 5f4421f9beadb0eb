"""`make superset-demo`: everything up on loopback, offline, from a fresh clone.

textlens server (default models) -> demo warehouse (written, then closed) ->
Superset home and gunicorn -> bootstrap -> prints the URL and login, then
waits for Ctrl-C and stops both servers.
"""

from __future__ import annotations

import time
from pathlib import Path


def run_demo(venv: Path, home: Path, port: int, reviews: int, *, hold: bool = True) -> int:
    from textlens.server.process import ServerProcess
    from textlens.superset_plugin.bootstrap import bootstrap
    from textlens.superset_plugin.demo_data import prepare_warehouse
    from textlens.superset_plugin.local import SupersetProcess, setup_home

    db = home / "warehouse.duckdb"
    started = time.monotonic()
    print("textlens: starting the model server (default models, offline)…", flush=True)
    with ServerProcess() as server:
        print(f"textlens server on {server.target}; writing {reviews} demo reviews to {db} "
              "and enriching them (sentiment, entities)…", flush=True)  # fmt: skip
        print(prepare_warehouse(db, server.target, reviews).summary(), flush=True)
        print(f"Superset: setting up {home} (first time: about two minutes)…", flush=True)
        setup_home(venv, home)
        with SupersetProcess(venv, home, port=port) as superset:
            done = bootstrap(superset.url, db, server.target)
            print(
                f"\nready in {time.monotonic() - started:.0f}s\n"
                f"  dashboard: {done.dashboard_url}\n"
                f"  login:     admin / admin\n"
                f"  SQL Lab:   {superset.url}/sqllab/  (try: SELECT review, sentiment(review), "
                "entities(review) FROM reviews LIMIT 20)\n",
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
