"""The textlens SQL function names, for SQL Lab autocompletion (no Superset import).

Taken from the DuckDB connector's function table, so a new function appears here too.
"""

from __future__ import annotations

from textlens.connectors.duckdb.functions import sql_functions

#: Any embedding size lists every function (embed() needs one to exist).
FUNCTION_NAMES: tuple[str, ...] = tuple(sorted(fn.name for fn in sql_functions(1)))
