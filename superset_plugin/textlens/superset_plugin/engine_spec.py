"""`DuckDB + textlens` for Superset: the engine spec behind `duckdb+textlens://` URLs.

Registered through the `superset.db_engine_specs` entry point, so installing
textlens into Superset's environment is all it takes: the connect-database
dialog lists "DuckDB + textlens" with a URI placeholder and a parameters form,
and SQL Lab completes the textlens function names.

Why the native spec gets a driver: Superset picks the first spec whose engine
matches a URL's backend ("duckdb") and whose `drivers` include the URL's driver,
and a spec with no `drivers` matches every driver. The native DuckDBEngineSpec
declares none, and is loaded before entry points, so it would win for
`duckdb+textlens`. Declaring its real driver (duckdb_engine) keeps plain
`duckdb://` URLs on it and sends `duckdb+textlens://` to this spec.

Why `adjust_engine_params` forces the sandbox: Superset builds every engine of a
database (SQL Lab, charts, Alerts, the connection test) through it, after the
URL and the engine parameters an editor may have changed, so whatever the
stored URL says, each connection gets `textlens_sandbox=true`: no file outside
`textlens_allowed_directories`, no file writes, no extensions, DuckDB settings
locked (`connectors/textlens/connectors/sqlalchemy/sandbox.py`). The allowed directories may not
hold Superset's own home or config (its SECRET_KEY signs the admin's sessions).

Why `limit_method` is `WRAP_SQL`: every returned row is a model call, and
Superset 6.1's default replaces the user's `LIMIT 20` by its row cap
(`superset_plugin/limits.py` says why and what the wrap cannot hold).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

from marshmallow import Schema, fields
from sqlalchemy.engine.url import URL, make_url
from superset.db_engine_specs.base import LimitMethod
from superset.db_engine_specs.duckdb import DuckDBEngineSpec

from textlens.connectors.sqlalchemy.options import allowed_directories
from textlens.superset_plugin.functions import FUNCTION_NAMES
from textlens.superset_plugin.limits import run_as_written

if TYPE_CHECKING:
    from superset.models.core import Database

logger = logging.getLogger(__name__)

DRIVER = "textlens"
BACKEND = "duckdb"

#: The URL parameter the dialect reads (connectors/textlens/connectors/sqlalchemy/options.py).
SANDBOX = "textlens_sandbox"
ALLOWED = "textlens_allowed_directories"


def superset_private_paths() -> list[Path]:
    """Superset's home, config file and data directory: never readable from SQL."""
    paths = [os.environ.get(name) for name in ("SUPERSET_HOME", "SUPERSET_CONFIG_PATH")]
    try:
        from flask import current_app  # type: ignore[import-not-found]  # Superset's env

        paths.append(current_app.config.get("DATA_DIR"))
    except RuntimeError:  # no application context (a CLI command, a test)
        pass
    return [Path(p).resolve() for p in paths if p]


def sandboxed_url(uri: URL) -> URL:
    """`uri` with the sandbox on; refuses allowed directories over Superset's own files."""
    query = dict(uri.query)
    raw = query.get(ALLOWED) or ""
    text = raw[-1] if isinstance(raw, tuple) else raw
    dirs = allowed_directories(d.strip() for d in str(text).split(",") if d.strip())
    for directory in dirs:
        base = Path(directory).resolve()
        for private in superset_private_paths():
            if private == base or base in private.parents:
                raise ValueError(
                    f"{ALLOWED} names {directory}, which holds Superset's {private}: SQL Lab "
                    "could read its SECRET_KEY. Allow only the directories dashboards read"
                )
    query[SANDBOX] = "true"
    return uri.set(query=query)


if not DuckDBEngineSpec.drivers:
    DuckDBEngineSpec.drivers = {"duckdb_engine": "DuckDB"}


class TextlensParametersSchema(Schema):  # type: ignore[misc]  # marshmallow is untyped here
    """The connect dialog's fields (instead of a hand-written URI)."""

    database = fields.String(
        required=True, metadata={"description": "Path of the DuckDB file (warehouse.duckdb)"}
    )
    textlens_target = fields.String(
        required=True, metadata={"description": "textlens server, host:port"}
    )
    read_only = fields.Boolean(
        load_default=True,
        metadata={"description": "Open the file read-only (recommended for Superset)"},
    )
    query = fields.Dict(
        keys=fields.Str(),
        values=fields.Raw(),
        metadata={"description": "More URL parameters (textlens_timeout, DuckDB settings)"},
    )


class TextlensParameters(TypedDict, total=False):
    database: str
    textlens_target: str
    read_only: bool
    query: dict[str, Any]


class TextlensEngineSpec(DuckDBEngineSpec):  # type: ignore[misc]  # Superset is untyped
    """DuckDB through the `duckdb+textlens` dialect: every connection has the textlens UDFs."""

    engine = BACKEND
    engine_name = "DuckDB + textlens"
    default_driver = DRIVER
    drivers: ClassVar[dict[str, str]] = {DRIVER: "DuckDB with the textlens SQL functions"}
    sqlalchemy_uri_placeholder = (
        "duckdb+textlens:////path/to/warehouse.duckdb?read_only=true"
        "&textlens_target=localhost:50051"
    )
    parameters_schema = TextlensParametersSchema()
    #: The user's LIMIT stays inside Superset's row cap instead of being replaced by it.
    limit_method = LimitMethod.WRAP_SQL
    metadata: ClassVar[dict[str, Any]] = {
        **DuckDBEngineSpec.metadata,
        "description": "DuckDB with the textlens SQL functions (sentiment, entities, "
        "embed, classify) served by a textlens model server.",
        "pypi_packages": ["textlens[superset]"],
        "connection_string": sqlalchemy_uri_placeholder,
        "drivers": [],
        "compatible_databases": [],
    }

    @classmethod
    def adjust_engine_params(
        cls,
        uri: URL,
        connect_args: dict[str, Any],
        catalog: str | None = None,
        schema: str | None = None,
    ) -> tuple[URL, dict[str, Any]]:
        """Superset's adjustments, then the sandbox forced on (module doc)."""
        uri, connect_args = super().adjust_engine_params(uri, connect_args, catalog, schema)
        return sandboxed_url(uri), connect_args

    @classmethod
    def execute(cls, cursor: Any, query: str, database: Database, **kwargs: Any) -> None:
        """Run `query`; a statement DuckDB cannot nest runs without the row cap's wrap."""
        super().execute(cursor, run_as_written(query), database, **kwargs)

    @classmethod
    def build_sqlalchemy_uri(
        cls, parameters: TextlensParameters, encrypted_extra: dict[str, str] | None = None
    ) -> str:
        """The URL from the dialog's fields (read-only unless switched off)."""
        query: dict[str, Any] = dict(parameters.get("query") or {})
        if parameters.get("textlens_target"):
            query["textlens_target"] = parameters["textlens_target"]
        query["read_only"] = "true" if parameters.get("read_only", True) else "false"
        url = URL.create(
            drivername=f"{BACKEND}+{DRIVER}",
            database=parameters.get("database") or ":memory:",
            query=query,
        )
        return url.render_as_string(hide_password=False)

    @classmethod
    def get_parameters_from_uri(
        cls, uri: str, encrypted_extra: dict[str, Any] | None = None
    ) -> TextlensParameters:
        url = make_url(uri)
        query = dict(url.query)
        target = str(query.pop("textlens_target", ""))
        read_only = str(query.pop("read_only", "false")).lower() in {"true", "1", "yes", "on"}
        return {
            "database": url.database or "",
            "textlens_target": target,
            "read_only": read_only,
            "query": query,
        }

    @classmethod
    def validate_parameters(cls, properties: Any) -> list[Any]:
        """Only the fields the dialog needs; the connection test reports the rest."""
        from superset.errors import ErrorLevel, SupersetError, SupersetErrorType

        parameters = properties.get("parameters", {})
        missing = sorted(k for k in ("database", "textlens_target") if not parameters.get(k))
        if not missing:
            return []
        return [
            SupersetError(
                message=f"One or more parameters are missing: {', '.join(missing)}",
                error_type=SupersetErrorType.CONNECTION_MISSING_PARAMETERS_ERROR,
                level=ErrorLevel.WARNING,
                extra={"missing": missing},
            )
        ]

    @classmethod
    def get_function_names(cls, database: Database) -> list[str]:
        """DuckDB's functions and the textlens ones, for SQL Lab autocompletion."""
        names = set(FUNCTION_NAMES)
        try:
            with database.get_raw_connection() as conn:
                cursor = conn.cursor()
                cursor.execute("SELECT DISTINCT function_name FROM duckdb_functions()")
                names.update(row[0] for row in cursor.fetchall())
        except Exception as exc:  # autocompletion must not fail on a busy or down server
            logger.warning("DuckDB + textlens: could not list DuckDB's functions: %s", exc)
        return sorted(name for name in names if not name.startswith("_"))
