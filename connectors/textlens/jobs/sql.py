"""`textlens sql "SELECT ..."`: run a query with the textlens functions and print the result.

`table` prints DuckDB's box rendering (up to `max_rows` rows); `csv`, `json`
(one object per line) and `parquet` go through DuckDB's own COPY writers, so
nested results (entities, embeddings, maps) keep their types, to a file with
`output` or to stdout (csv and json only).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from textlens.connectors.duckdb.interrupt import run_interruptibly
from textlens.connectors.duckdb.session import open_session

if TYPE_CHECKING:
    import duckdb

Format = Literal["table", "csv", "json", "parquet"]
#: The size of a fixed-size ARRAY type, FLOAT[384] -> FLOAT[].
ARRAY_SIZE = re.compile(r"\[\d+\]$")
FORMATS: tuple[str, ...] = ("table", "csv", "json", "parquet")
COPY_OPTIONS = {
    "csv": "FORMAT csv, HEADER true",
    "json": "FORMAT json",
    "parquet": "FORMAT parquet",
}


def copy_query(
    con: duckdb.DuckDBPyConnection, query: str, fmt: str, path: Path, *, replace: bool = True
) -> None:
    """Write the result of `query` to `path` in `fmt`, atomically (a temp file, then a rename).

    `replace=False` never overwrites: the finished file is hard-linked into place,
    which fails if `path` appeared meanwhile (`enrich` without `--replace`)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    literal = "'" + str(tmp).replace("'", "''") + "'"
    query = query.strip().rstrip(";")
    if fmt == "parquet":
        query = arrays_as_lists(con, query)
    try:
        copy = f"COPY ({query}) TO {literal} ({COPY_OPTIONS[fmt]})"
        run_interruptibly(con, lambda: con.execute(copy))
        if replace:
            os.replace(tmp, path)
        else:
            _publish_new(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _publish_new(tmp: Path, path: Path) -> None:
    """Move `tmp` to `path` unless `path` exists (atomically where hard links work)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ValueError(f"{path} already exists; pass --replace to overwrite it") from None
    except OSError:  # no hard links here (some network and FAT file systems)
        if path.exists():
            raise ValueError(f"{path} already exists; pass --replace to overwrite it") from None
        os.replace(tmp, path)


def arrays_as_lists(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """`query` with its fixed-size ARRAY columns (embeddings) cast to variable-size lists.

    Why: DuckDB 2.0 writes the NULL rows of an ARRAY column into Parquet in a
    way pyarrow (so pandas, Ray, Spark's Arrow path) refuses to read ("Length
    spanned by list offsets ... larger than values array"); a LIST column with
    the same values reads everywhere.
    """
    relation = con.sql(query)
    if relation is None:
        return query
    casts = [
        f"{quote_name(name)}::{ARRAY_SIZE.sub('[]', str(kind))} AS {quote_name(name)}"
        for name, kind in zip(relation.columns, relation.types, strict=True)
        if kind.id == "array"
    ]
    if not casts:
        return query
    return f"SELECT * REPLACE ({', '.join(casts)}) FROM ({query})"


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run_sql(
    query: str,
    *,
    db: str | Path | None = None,
    target: str | None = None,
    config: str | Path | None = None,
    fmt: Format = "table",
    output: Path | None = None,
    max_rows: int = 40,
    stats: bool = False,
) -> int:
    """Run `query` and write its result to stdout or `output`; returns the exit status (0)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "parquet" and output is None:
        raise ValueError("--format parquet needs --output FILE")
    con, registration = open_session(db, target=target, config=config)
    try:
        if fmt == "table":
            relation = con.sql(query)
            if relation is not None:
                if output is None:
                    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
                    run_interruptibly(
                        con, lambda: relation.show(max_rows=max_rows, max_width=width)
                    )
                else:
                    text = run_interruptibly(con, lambda: str(relation))
                    output.write_text(text, encoding="utf-8")
        elif output is not None:
            copy_query(con, query, fmt, output)
        else:
            with tempfile.TemporaryDirectory(prefix="textlens-sql-") as tmp:
                path = Path(tmp) / f"result.{fmt}"
                copy_query(con, query, fmt, path)
                with path.open(encoding="utf-8") as result:
                    shutil.copyfileobj(result, sys.stdout)
        if stats:
            s = registration.stats()
            print(
                f"textlens: {s.rows} rows ({s.nulls} NULL), {s.deduplicated} duplicates folded, "
                f"{s.hits + s.shared} cache hits, {s.computed} texts computed in {s.calls} calls "
                f"[{registration.backend.describe()}]",
                file=sys.stderr,
            )
    finally:
        registration.close()
        con.close()
    return 0
