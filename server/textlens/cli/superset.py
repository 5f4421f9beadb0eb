"""`textlens superset ...`: set up a local Superset, make the demo warehouse, bootstrap, demo.

Argument parsing only at import (server/textlens/cli/main.py builds every parser for
`--help`); each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_HOME = Path(".superset-demo")
DEFAULT_DB = DEFAULT_HOME / "warehouse.duckdb"
#: Where `setup` and `bootstrap` read the admin's password when `--password` is not given
#: (better than the flag, which other users can see in `ps`).
PASSWORD_ENV = "TEXTLENS_SUPERSET_PASSWORD"


def login_password(args: argparse.Namespace) -> str | None:
    """`--password`, else $TEXTLENS_SUPERSET_PASSWORD, else None (no admin/admin default)."""
    return args.password or os.environ.get(PASSWORD_ENV) or None


def setup_password(args: argparse.Namespace, initialized: bool) -> tuple[str | None, bool]:
    """(the new admin's password, whether it was generated) for `textlens superset setup`.

    Only `demo` keeps admin/admin (a loopback demo); a home set up here gets the
    given password or a generated one, printed once. A home that is already set
    up has its admin: nothing to generate.
    """
    given = login_password(args)
    if given or initialized:
        return given, False
    import secrets

    return secrets.token_urlsafe(16), True


def _bootstrap(args: argparse.Namespace) -> int:
    from textlens.superset_tools.alert import DEFAULT_RECIPIENT
    from textlens.superset_tools.bootstrap import bootstrap

    password = login_password(args)
    if password is None:
        print(
            f"textlens superset bootstrap: no password for Superset user {args.username!r}; "
            f"set ${PASSWORD_ENV} (or pass --password) to the one `textlens superset setup` "
            "printed",
            file=sys.stderr,
        )
        return 2
    done = bootstrap(
        args.superset_url,
        args.db,
        args.target,
        username=args.username,
        password=password,
        monitor=args.monitor,
        alert_recipients=tuple(args.alert_email or [DEFAULT_RECIPIENT]),
        token=args.token or os.environ.get("TEXTLENS_TOKEN") or None,
        tls_ca=args.tls_ca,
    )
    print(f"dashboard: {done.dashboard_url}")
    if done.market_url:
        print(f"dashboard: {done.market_url}")
        print(f"alert:     {args.superset_url.rstrip('/')}/alert/list/ (report id {done.alert_id})")
    print(f"database id {done.database_id}; charts: {sorted(done.chart_ids.values())}")
    return 0


def _demo_data(args: argparse.Namespace) -> int:
    from textlens.superset_tools.demo_data import prepare_warehouse

    print(prepare_warehouse(args.db, args.target, args.reviews).summary())
    return 0


def _setup(args: argparse.Namespace) -> int:
    from textlens.superset_tools.local import is_initialized, setup_home

    initialized = is_initialized(args.home)
    password, generated = setup_password(args, initialized)
    setup_home(args.venv, args.home, args.username, password or "")
    print(f"Superset home ready: {args.home.resolve()} (admin user {args.username!r})")
    if generated:
        print(
            f"admin password (shown once, not stored by textlens): {password}\n"
            f"  bootstrap with it: export {PASSWORD_ENV}='{password}'"
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from textlens.superset_tools.demo import run_demo

    return run_demo(
        venv=args.venv, home=args.home, port=args.port, reviews=args.reviews, hold=not args.no_wait
    )


def _login_options(parser: argparse.ArgumentParser, password_help: str) -> None:
    parser.add_argument("--username", default="admin", help="Superset admin (default admin)")
    parser.add_argument("--password", default=None, help=password_help)


def add_superset_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `textlens superset` and its subcommands to the `textlens` command line."""
    superset = sub.add_parser(
        "superset", help="Apache Superset: set up, bootstrap the dashboard, run the demo"
    )
    commands = superset.add_subparsers(dest="superset_command", required=True)

    bootstrap = commands.add_parser(
        "bootstrap",
        help="create (or update) the DuckDB + textlens connection, datasets, the "
        '"Voice of the customer" and "Market pulse" dashboards and the Market pulse Alert '
        "in a running Superset",
    )
    bootstrap.add_argument("--superset-url", default="http://127.0.0.1:8088")
    bootstrap.add_argument("--db", type=Path, required=True, help="the DuckDB warehouse file")
    bootstrap.add_argument("--target", required=True, help="textlens server host:port")
    bootstrap.add_argument(
        "--monitor",
        type=Path,
        default=None,
        help="textlens monitor output of the market data (default: monitor/ next to --db; "
        "without it, no Market pulse)",
    )
    bootstrap.add_argument(
        "--alert-email",
        action="append",
        metavar="ADDRESS",
        help="recipient of the Market pulse Alert (repeatable; default market-alerts@example.com)",
    )
    bootstrap.add_argument(
        "--token",
        default=None,
        help="read token for a server with read_tokens (default $TEXTLENS_TOKEN); Superset "
        "stores it as the connection's encrypted password",
    )
    bootstrap.add_argument(
        "--tls-ca", type=Path, default=None, help="CA file (PEM) of a TLS server's certificate"
    )
    _login_options(
        bootstrap,
        f"its password (default ${PASSWORD_ENV}; required: there is no default password)",
    )
    bootstrap.set_defaults(func=_bootstrap)

    data = commands.add_parser(
        "demo-data", help="write the demo warehouse: generated reviews + reviews_enriched"
    )
    data.add_argument("--db", type=Path, default=DEFAULT_DB)
    data.add_argument("--target", required=True, help="textlens server host:port")
    data.add_argument("--reviews", type=int, default=3000)
    data.set_defaults(func=_demo_data)

    setup = commands.add_parser(
        "setup", help="superset_config.py, metadata database, admin user and `superset init`"
    )
    setup.add_argument("--venv", type=Path, default=Path(".venv-superset"))
    setup.add_argument("--home", type=Path, default=DEFAULT_HOME)
    _login_options(
        setup,
        f"the new admin's password (default ${PASSWORD_ENV}, else a generated one, printed "
        "once; only `demo` uses admin/admin)",
    )
    setup.set_defaults(func=_setup)

    demo = commands.add_parser(
        "demo",
        help="textlens server + demo warehouse + Superset + bootstrap + the Alert's email "
        "(Redis, Celery, an SMTP sink into <home>/mailbox/), until Ctrl-C",
    )
    demo.add_argument("--venv", type=Path, default=Path(".venv-superset"))
    demo.add_argument("--home", type=Path, default=DEFAULT_HOME)
    demo.add_argument("--port", type=int, default=8088)
    demo.add_argument("--reviews", type=int, default=3000)
    demo.add_argument("--no-wait", action="store_true", help="stop once everything is up")
    demo.set_defaults(func=_demo)
