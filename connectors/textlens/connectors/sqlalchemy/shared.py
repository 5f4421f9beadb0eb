"""Process-wide textlens state for the dialect: backends, the result cache, and anchors.

Why anchors: DuckDB (2.0) keeps Python UDFs in the *database instance*, which
every connection to one file in one process shares, while the temp macros that
give the functions their names and overloads are per connection. So a second
connection cannot register the UDFs again ("already exists"), and a UDF whose
registering connection was closed crashes the process when another connection
calls it. The dialect therefore opens one *anchor* connection per database file
(and function prefix) that registers the UDFs once and stays open for the life
of the process; every pooled connection only creates the temp macros over them.
`:memory:` databases are private to their connection and register in full.

Why shared backends: Superset builds an engine per query, so one gRPC channel
and one result cache per (target, mode, config, timeout, token, TLS) serve the process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textlens.connectors.duckdb.backend import Backend
from textlens.connectors.duckdb.cache import ResultCache
from textlens.connectors.duckdb.functions import macro_sql
from textlens.connectors.duckdb.register import Registration, choose_backend, register
from textlens.connectors.sqlalchemy.options import TextlensOptions

if TYPE_CHECKING:
    import duckdb

    from textlens.connectors.duckdb.cache_metrics import DuckdbMetrics

#: Databases that are private to one connection (no shared instance).
PRIVATE_DATABASES = ("", ":memory:")

_LOCK = threading.Lock()
_BACKENDS: dict[tuple[object, ...], Backend] = {}
_ANCHORS: dict[tuple[str, str], Anchor] = {}
_ANCHOR_LOCK = threading.Lock()
#: One cache for every connection of the process: its keys include the model version.
CACHE = ResultCache()
#: The process's DuckDB metrics endpoint, started with the first anchor when
#: TEXTLENS_DUCKDB_METRICS_PORT is set (`textlens.connectors.duckdb.cache_metrics`).
METRICS_PORT_ENV = "TEXTLENS_DUCKDB_METRICS_PORT"
#: The address that metrics endpoint binds (default 127.0.0.1).
METRICS_HOST_ENV = "TEXTLENS_DUCKDB_METRICS_HOST"
_METRICS: list[DuckdbMetrics] = []


@dataclass
class Anchor:
    """The connection that owns a database instance's UDFs, and how it registered them."""

    options: TextlensOptions
    con: duckdb.DuckDBPyConnection
    registration: Registration


def shared_backend(options: TextlensOptions) -> Backend:
    """The process-wide backend for these options, created on first use."""
    # The arguments of choose_backend are the key: same arguments, same backend.
    key = (
        options.target,
        options.mode,
        options.config,
        options.timeout,
        options.token,
        options.tls_arg,
        options.inflight,
    )
    with _LOCK:
        backend = _BACKENDS.get(key)
        if backend is None:
            backend = choose_backend(*key)
            _BACKENDS[key] = backend
        return backend


def register_full(con: duckdb.DuckDBPyConnection, options: TextlensOptions) -> Registration:
    """UDFs and macros on `con` (over the shared backend and cache)."""
    return register(
        con,
        backend=shared_backend(options),
        models=dict(options.models),
        truncation="error" if options.truncation == "error" else "truncate",
        prefix=options.prefix,
        timeout=options.timeout,
        cache=CACHE,
    )


def database_key(database: str | None) -> str | None:
    """The key of the shared DuckDB instance `database` opens; None when it is private."""
    if database is None or database in PRIVATE_DATABASES:
        return None
    if ":" in database.split("/", 1)[0]:  # md:, s3:, :memory:name ... keep as written
        return database
    return os.path.realpath(database)


def anchor_for(
    database: str, options: TextlensOptions, open_anchor: Callable[[], duckdb.DuckDBPyConnection]
) -> Anchor:
    """The anchor of `database` for `options.prefix`, opened and registered on first use."""
    key = (database, options.prefix)
    # Held while the anchor registers: a second registration of the same UDFs on the
    # shared instance would fail, so concurrent first connections wait for the first.
    with _ANCHOR_LOCK:
        anchor = _ANCHORS.get(key)
        if anchor is not None:
            if anchor.options != options:
                raise ValueError(
                    f"this process already registered the textlens functions on {database} "
                    f"with other options ({anchor.options}); DuckDB shares functions between "
                    "all connections to one file, so give each configuration its own "
                    "textlens_prefix"
                )
            return anchor
        con = open_anchor()
        try:
            registration = register_full(con, options)
        except BaseException:
            con.close()
            raise
        _ANCHORS[key] = anchor = Anchor(options, con, registration)
        _start_metrics()
        return anchor


def anchor_registrations() -> dict[str, Registration]:
    """The anchors' registrations by `database[:prefix]` (what the metrics report)."""
    with _ANCHOR_LOCK:
        items = list(_ANCHORS.items())
    return {db + (f":{prefix}" if prefix else ""): a.registration for (db, prefix), a in items}


def _start_metrics() -> None:
    """Start /metrics once per process when the environment asks for it (anchor lock held)."""
    port = os.environ.get(METRICS_PORT_ENV, "").strip()
    if not port or _METRICS:
        return
    from textlens.connectors.duckdb.cache_metrics import DuckdbMetrics

    metrics = DuckdbMetrics(anchor_registrations)
    metrics.start(os.environ.get(METRICS_HOST_ENV, "127.0.0.1"), int(port))
    _METRICS.append(metrics)


def metrics_port() -> int | None:
    """The port of this process's DuckDB metrics endpoint, if one was started."""
    return int(_METRICS[0]._server.server_port) if _METRICS else None


def create_macros(con: duckdb.DuckDBPyConnection, anchor: Anchor) -> None:
    """The per-connection temp macros over the anchor's UDFs (what `register` creates)."""
    models = dict(anchor.options.models)
    for public, fn in anchor.registration.functions.items():
        private = anchor.registration.private_names[public]
        con.execute(macro_sql(fn, public, private, models))
    for statement in anchor.registration.search_sql:  # semantic_search, similar_to, ...
        con.execute(statement)


def close_all() -> None:
    """Close the anchors and backends. Only after every engine was disposed (see above)."""
    with _ANCHOR_LOCK, _LOCK:
        anchors = list(_ANCHORS.values())
        backends = list(_BACKENDS.values())
        _ANCHORS.clear()
        _BACKENDS.clear()
    for anchor in anchors:
        anchor.registration.close()
        anchor.con.close()
    for backend in backends:
        backend.close()
    while _METRICS:
        _METRICS.pop().stop()
