"""`textlens_sandbox=true`: a `duckdb+textlens` connection that cannot reach the host.

Why: a DuckDB connection can read any file the process can (`read_text`,
`read_blob('/proc/self/environ')`, `glob('/**')`), write any file
(`COPY ... TO 'x.py'`), install and load extensions, and `SET` all of that
back. `read_only=true` only protects the database file. Superset's SQL Lab
hands that connection to every user with access to the database, so the
Superset engine spec (`superset_plugin/textlens/superset_plugin/engine_spec.py`) forces this mode on
every connection it makes, whatever the URL or the engine parameters say.

What the sandbox is, in two walls:

1. DuckDB's own settings, on the database instance, before any query:
   extension auto-install/auto-load off (at connect), then
   `allowed_directories` (only those the URL names in
   `textlens_allowed_directories`, for the dashboards' Parquet), then
   `enable_external_access=false`, then `lock_configuration=true`, so no
   statement can `SET` or `RESET` any of it again. DuckDB refuses to set
   `allowed_directories` before the instance has started, hence `SET`s
   rather than `duckdb.connect(config=...)`. A URL or connect argument that
   names one of these settings is ignored: the sandbox's value wins.
2. DuckDB would still write into an allowed directory (`COPY ... TO`,
   `EXPORT DATABASE`, `ATTACH` of a new file), so the connection the dialect
   hands out parses every SQL string with DuckDB's own parser and refuses the
   statements that write files or change what is attached or loaded, before
   DuckDB runs them. A string the parser cannot classify is refused too.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

import duckdb
import duckdb_engine

if TYPE_CHECKING:
    from collections.abc import MutableMapping

#: The DuckDB settings the sandbox owns; a URL's or connect argument's value is dropped.
OWNED_SETTINGS = frozenset(
    {
        "enable_external_access",
        "allowed_directories",
        "allowed_paths",
        "lock_configuration",
        "autoinstall_known_extensions",
        "autoload_known_extensions",
        "allow_community_extensions",
        "allow_unsigned_extensions",
        "extension_directory",
        "disabled_filesystems",
    }
)
#: What the sandbox passes to `duckdb.connect` (the rest is set once the instance runs).
CONNECT_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}
#: Statement types that write files or change what is attached or loaded (INSTALL is
#: a LOAD statement); PREPARE could hide any of them until an EXECUTE.
REFUSED_TYPES = frozenset(
    {"COPY", "COPY_DATABASE", "EXPORT", "ATTACH", "DETACH", "LOAD", "PREPARE"}
)
#: EXPLAIN ANALYZE runs the statement it explains (EXPLAIN alone does not).
_EXPLAIN_ANALYZE = re.compile(r"\bANALY[SZ]E\b", re.IGNORECASE)


class SandboxError(PermissionError):
    """A statement the sandbox refuses, or an instance that was opened without it."""


#: duckdb_engine connect arguments that load code or file systems before the sandbox applies.
DROPPED_CONNECT_ARGS = ("preload_extensions", "register_filesystems")


def sandbox_connect_params(cparams: MutableMapping[str, Any]) -> None:
    """Drop the owned settings from `config` and `url_config` and the connect arguments
    that load extensions or file systems; add CONNECT_CONFIG."""
    for name in DROPPED_CONNECT_ARGS:
        cparams.pop(name, None)
    for key in ("config", "url_config"):
        given = dict(cparams.get(key) or {})
        cparams[key] = {k: v for k, v in given.items() if k not in OWNED_SETTINGS}
    cparams["config"] = {**cparams["config"], **CONNECT_CONFIG}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: DuckDB keeps one instance per database file per process, so "is it locked yet, else
#: lock it" must be one step per process: two connections opened at once (Superset runs
#: a dashboard's chart queries in parallel) both saw it unlocked, and the second one's
#: `SET allowed_directories` failed with "the configuration has been locked".
_APPLY_LOCK = threading.Lock()


def apply_sandbox(con: duckdb.DuckDBPyConnection, directories: tuple[str, ...]) -> None:
    """Lock the instance `con` belongs to (first connection), or check that it is locked.

    The settings are the instance's: a later connection to the same file finds them
    locked and only checks them, so an instance some other code opened with external
    access on is refused instead of being used as if it were sandboxed.
    """
    with _APPLY_LOCK:
        _lock_or_check(con, directories)


def _lock_or_check(con: duckdb.DuckDBPyConnection, directories: tuple[str, ...]) -> None:

    def setting(name: str) -> Any:
        row = con.execute(f"SELECT current_setting('{name}')").fetchone()
        return row[0] if row else None

    if setting("lock_configuration"):
        allowed = {str(d) for d in (setting("allowed_directories") or ())}
        # DuckDB adds its own spill directory (`<database>.tmp/`) to the list.
        temp = str(setting("temp_directory") or "").rstrip("/") + "/"
        if setting("enable_external_access") or not (
            set(directories) <= allowed <= {*directories, temp}
        ):
            raise SandboxError(
                "this DuckDB database is already open in this process with other file-access "
                f"settings (external access {setting('enable_external_access')}, allowed "
                f"directories {sorted(allowed)}); the sandbox cannot apply. Use one URL per "
                "database file, or restart the process after changing it"
            )
        return
    dirs = ", ".join(_quote(d) for d in directories)
    con.execute(f"SET allowed_directories = [{dirs}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def check_sql(con: duckdb.DuckDBPyConnection, sql: Any) -> None:
    """Raise SandboxError when `sql` holds a statement the sandbox refuses (module doc)."""
    text = str(sql)
    try:
        statements = con.extract_statements(text)
        kinds = [(s.type.name, str(s.query)) for s in statements]
    except duckdb.Error:
        return  # not SQL DuckDB can parse: executing it fails with DuckDB's own message
    except Exception as exc:  # a statement type this duckdb's Python API cannot name
        raise SandboxError(
            f"refused by the textlens sandbox: a statement it cannot classify ({exc})"
        ) from None
    for kind, query in kinds:
        if kind in REFUSED_TYPES or (kind == "EXPLAIN" and _EXPLAIN_ANALYZE.search(query)):
            raise SandboxError(
                f"refused by the textlens sandbox: {kind} statements are not allowed on this "
                "connection (no file writes, ATTACH, INSTALL or LOAD; file reads only in the "
                "allowed directories)"
            )


def raw_connection(conn: Any) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection inside duckdb_engine's ConnectionWrapper."""
    raw = getattr(conn, "_ConnectionWrapper__c", None)
    if not isinstance(raw, duckdb.DuckDBPyConnection):
        raise TypeError(
            f"duckdb_engine {duckdb_engine.__version__}: cannot find the DuckDB connection in "
            f"its ConnectionWrapper; the textlens sandbox needs duckdb-engine 0.13 to 0.17"
        )
    return raw


class SandboxedCursor(duckdb_engine.CursorWrapper):
    """duckdb_engine's cursor, checking each SQL string before DuckDB runs it."""

    def __init__(self, raw: duckdb.DuckDBPyConnection, connection: SandboxedConnection) -> None:
        super().__init__(raw, connection)
        self._sandbox_raw = raw

    def execute(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        check_sql(self._sandbox_raw, statement)
        super().execute(statement, parameters, context)

    def executemany(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        check_sql(self._sandbox_raw, statement)
        super().executemany(statement, parameters, context)


class SandboxedConnection(duckdb_engine.ConnectionWrapper):
    """duckdb_engine's connection whose SQL entry points go through `check_sql`."""

    def __init__(self, raw: duckdb.DuckDBPyConnection) -> None:
        super().__init__(raw)
        self._sandbox_raw = raw

    def cursor(self) -> SandboxedCursor:
        return SandboxedCursor(self._sandbox_raw, self)

    def _checked(self, name: str) -> Any:
        method = getattr(self._sandbox_raw, name)

        def run(sql: Any, *args: Any, **kwargs: Any) -> Any:
            check_sql(self._sandbox_raw, sql)
            return method(sql, *args, **kwargs)

        return run

    def __getattr__(self, name: str) -> Any:
        if name in {"execute", "executemany", "sql", "query", "from_query"}:
            return self._checked(name)
        return getattr(self._sandbox_raw, name)
