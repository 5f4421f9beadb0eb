"""`make superset-demo`: everything up on loopback, offline, from a fresh clone.

Demo warehouse, part 1 (generated news, the topic model fitted on it) ->
textlens server (default models + that registry) -> part 2 (reviews enriched
through the server, the market monitor's outputs; the file is then closed) ->
Superset home and gunicorn -> bootstrap (both dashboards and the Alert) ->
what delivers the Alert's email (Redis, Celery worker and beat, an SMTP sink
writing to `<home>/mailbox/`) -> prints the URLs, the login and the mailbox,
then waits for Ctrl-C, announcing each email as it arrives, and stops it all.

Why the demo deletes the Alert before the bootstrap creates it again: after an
email the Alert stays "On Grace" for a week (one spike, one email), so a second
demo run on the same home would never show its email.
"""

from __future__ import annotations

import email
import shutil
import time
from contextlib import ExitStack
from email.header import decode_header, make_header
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textlens.superset_tools.local import SupersetProcess

#: The demo's Superset login: a loopback demo that prints it. Every other command
#: (`setup`, `bootstrap`) requires or generates a password instead.
DEMO_LOGIN = ("admin", "admin")


def subject_of(path: Path) -> str:
    """The decoded Subject of the message in `path`."""
    message = email.message_from_bytes(path.read_bytes())
    return str(make_header(decode_header(str(message.get("Subject", "")))))


def start_delivery(stack: ExitStack, venv: Path, home: Path, superset_url: str) -> Path | None:
    """Start what sends the Alert's email (into `stack`); its mailbox, None without Redis."""
    from textlens.superset_tools.workers import AlertDelivery

    if shutil.which("redis-server") is None:
        print("Alert email: off, redis-server is not installed (Celery's broker; Debian: "
              "apt-get install redis-server). The dashboards work without it.", flush=True)  # fmt: skip
        return None
    print("Alert email: starting Redis, the Celery worker and beat, and an SMTP sink…",
          flush=True)  # fmt: skip
    delivery = stack.enter_context(AlertDelivery(venv, home, superset_url, home / "mailbox"))
    return delivery.sink.mailbox


def until_ctrl_c(superset: SupersetProcess, mailbox: Path | None) -> None:
    """Until Ctrl-C (or Superset exits): print each new email's subject and file."""
    seen = set(mailbox.glob("*.eml")) if mailbox else set()
    print("Ctrl-C stops everything.", flush=True)
    try:
        while superset.proc.poll() is None:
            for path in sorted(set(mailbox.glob("*.eml")) - seen) if mailbox else []:
                seen.add(path)
                print(f"email arrived: {subject_of(path)!r}\n  {path}", flush=True)
            time.sleep(1.0)
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)


def run_demo(venv: Path, home: Path, port: int, reviews: int, *, hold: bool = True) -> int:
    from textlens.server.process import ServerProcess
    from textlens.superset_tools.alert import delete_alert
    from textlens.superset_tools.api import SupersetClient
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
    with ExitStack() as stack:
        server = stack.enter_context(
            ServerProcess(env={"TEXTLENS_REGISTRY": str(registry.resolve())})
        )
        print(f"textlens server on {server.target}; writing {reviews} demo reviews to {db} "
              "and enriching them (sentiment, entities)…", flush=True)  # fmt: skip
        print(prepare_warehouse(db, server.target, reviews).summary(), flush=True)
        market = prepare_market(db, server.target)
        print(f"monitor: {market.rows} headlines, {market.alerts} alert(s) in {market.out}",
              flush=True)  # fmt: skip
        print(f"Superset: setting up {home} (first time: about two minutes)…", flush=True)
        setup_home(venv, home, *DEMO_LOGIN)
        superset = stack.enter_context(SupersetProcess(venv, home, port=port))
        client = SupersetClient(superset.url)
        client.login(*DEMO_LOGIN)
        delete_alert(client)  # a fresh Alert each run (module docstring)
        done = bootstrap(
            superset.url, db, server.target, username=DEMO_LOGIN[0], password=DEMO_LOGIN[1]
        )
        mailbox = start_delivery(stack, venv, home, superset.url)
        alert = (
            f"emails go to the SMTP sink, one .eml file each in {mailbox}\n"
            "             (the incident's email within about two minutes)"
            if mailbox
            else "sends no email without Redis (docs/superset.md)"
        )
        print(
            f"\nready in {time.monotonic() - started:.0f}s\n"
            f"  Voice of the customer: {done.dashboard_url}\n"
            f"  Market pulse:          {done.market_url}\n"
            f"  login:     {DEMO_LOGIN[0]} / {DEMO_LOGIN[1]}  (this demo only; `textlens "
            "superset setup` elsewhere generates one)\n"
            f"  SQL Lab:   {superset.url}/sqllab/  (try: SELECT review, sentiment(review), "
            "entities(review) FROM reviews LIMIT 20)\n"
            f"  Alert:     {superset.url}/alert/list/  {alert}\n",
            flush=True,
        )
        if hold:
            until_ctrl_c(superset, mailbox)
    return 0
