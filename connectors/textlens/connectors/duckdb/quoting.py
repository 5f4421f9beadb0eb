"""SQL identifiers and string literals, quoted for DuckDB: the one place names from a
command line or a spec are put into SQL text."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
