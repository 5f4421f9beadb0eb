"""`duckdb+textlens`: duckdb_engine's dialect plus the textlens functions on each connection.

Registered as the `duckdb.textlens` entry point of `sqlalchemy.dialects`, so
`create_engine("duckdb+textlens:///warehouse.duckdb?...")` finds it in any
environment where textlens is installed (Superset's included).

Why in `connect`: DuckDB functions live on connections, and a pool (or
Superset, which opens a connection per query) makes new ones at any time;
`Dialect.connect` makes every DBAPI connection in SQLAlchemy 1.4 and 2.x, and
it has the connect arguments the anchor connection must repeat (see shared.py).

Why a compiler: SQLAlchemy 2.0.55 added `classoid = CAST('pg_catalog.pg_class' AS
REGCLASS)` to the PostgreSQL reflection queries that duckdb_engine inherits
(primary and unique keys, check constraints, comments), and DuckDB has no
REGCLASS type, so `Table(autoload_with=...)`, `get_pk_constraint` and
`pandas.read_sql_table` failed. DuckDB's `pg_description.classoid` holds the
database's oid, not a catalog table's, so the condition could never match here:
`RegclassFreeCompiler` renders it as `true`, which is what every SQLAlchemy
before 2.0.55 (and 1.4, Superset's) asked.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any, cast

import duckdb_engine
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import Cast

from textlens.connectors.sqlalchemy.options import TextlensOptions, split_url_query
from textlens.connectors.sqlalchemy.sandbox import (
    SandboxedConnection,
    apply_sandbox,
    raw_connection,
    sandbox_connect_params,
)
from textlens.connectors.sqlalchemy.shared import (
    anchor_for,
    close_all,
    create_macros,
    database_key,
    register_full,
)

if TYPE_CHECKING:
    import duckdb
    from sqlalchemy.engine.url import URL

__all__ = ["RegclassFreeCompiler", "TextlensDialect", "close_all"]


def _is_regclass_cast(element: Any) -> bool:
    return isinstance(element, Cast) and isinstance(element.type, REGCLASS)


#: duckdb_engine's compiler (PGCompiler on SQLAlchemy 2, PGCompiler_psycopg2 on 1.4).
_BaseCompiler: Any = duckdb_engine.Dialect.statement_compiler


class RegclassFreeCompiler(_BaseCompiler):  # type: ignore[misc]
    """duckdb_engine's compiler, with `x = CAST(... AS REGCLASS)` as `true` (module doc)."""

    def visit_binary(self, binary: Any, **kw: Any) -> str:
        if binary.operator is operators.eq and (
            _is_regclass_cast(binary.right) or _is_regclass_cast(binary.left)
        ):
            return "true"
        return cast(str, super().visit_binary(binary, **kw))


class TextlensDialect(duckdb_engine.Dialect):
    """DuckDB (through duckdb_engine) with the textlens SQL functions; see the module doc."""

    driver = "textlens"
    supports_statement_cache = False
    statement_compiler = RegclassFreeCompiler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.textlens_options = TextlensOptions()

    def create_connect_args(self, url: URL) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """duckdb_engine's arguments, less the textlens parameters (kept on the dialect)."""
        # The token may be the URL's password (Superset encrypts and masks passwords);
        # DuckDB itself has no user or password, so neither reaches duckdb.connect.
        password = url.password
        cargs, opts = super().create_connect_args(url)
        opts.pop("username", None)
        opts.pop("password", None)
        options, connect_kwargs, rest = split_url_query(opts.pop("url_config", {}))
        if password:
            options = dataclasses.replace(options, token=str(password))
        self.textlens_options = options
        opts["url_config"] = rest
        opts.update(connect_kwargs)
        return cargs, opts

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        """A duckdb_engine connection with the textlens functions registered on it."""
        options = self.textlens_options
        if options.sandbox:  # before the anchor copies them: one configuration per file
            sandbox_connect_params(cparams)
        anchor_args = copy.deepcopy((cargs, cparams))  # duckdb_engine pops from cparams
        conn = super().connect(*cargs, **cparams)
        if options.sandbox:
            try:
                apply_sandbox(raw_connection(conn), options.allowed_directories)
            except Exception:
                conn.close()
                raise
        # duckdb_engine's ConnectionWrapper forwards create_function/execute/... to the
        # DuckDB connection, which is all registration uses.
        con = cast("duckdb.DuckDBPyConnection", conn)
        database = database_key(anchor_args[1].get("database", cargs[0] if cargs else None))
        try:
            if database is None:
                register_full(con, options)
            else:
                anchor = anchor_for(
                    database,
                    options,
                    lambda: cast(
                        "duckdb.DuckDBPyConnection",
                        super(TextlensDialect, self).connect(*anchor_args[0], **anchor_args[1]),
                    ),
                )
                create_macros(con, anchor)
        except Exception as exc:
            conn.close()
            where = options.target or f"mode={options.mode}"
            raise RuntimeError(
                f"duckdb+textlens could not register the textlens SQL functions ({where}): "
                f"{exc}. Check that the textlens server is running and that "
                "textlens_target=host:port in the URL points at it (or use "
                "textlens_mode=embedded with the `models` extra)."
            ) from exc
        if options.sandbox:  # every SQL string checked from here on (sandbox.py)
            return SandboxedConnection(raw_connection(conn))
        return conn
