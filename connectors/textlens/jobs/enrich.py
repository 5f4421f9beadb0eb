"""`textlens enrich`: a new table (or file) = the source plus model columns. All or nothing.

The whole enrichment is one statement, `CREATE TABLE out AS SELECT src.*,
sentiment(col) AS sentiment, ... FROM src`, so DuckDB's transaction makes it
atomic: if anything fails (a server dies, a text is too long under
`--truncation error`, Ctrl-C) no output table exists, or an existing one is
left untouched with `--replace`. A file output is written to a temporary name
and renamed at the end; like a table, an existing file is kept unless
`--replace` is given. A failed run is re-run from the start; within one
process repeated texts are computed once (the UDF cache), so re-running is
cheap for the rows that repeat, and `--table` may name a table of the
database or a Parquet/CSV/JSON path (globs too).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from textlens.connectors.duckdb.cache import CacheStats
from textlens.connectors.duckdb.interrupt import run_interruptibly
from textlens.connectors.duckdb.progress import RowProgress
from textlens.connectors.duckdb.quoting import quote_ident, quote_literal
from textlens.connectors.duckdb.session import open_session
from textlens.jobs.sql import copy_query

if TYPE_CHECKING:
    import duckdb

#: task -> [(output column, SQL function)]; classify needs labels.
TASK_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "sentiment": [("sentiment", "sentiment"), ("sentiment_score", "sentiment_score")],
    "sentiment_probs": [("sentiment_probs", "sentiment_probs")],
    "entities": [("entities", "entities")],
    "entity_sentiment": [("entity_sentiment", "entity_sentiment")],
    "embed": [("embedding", "embed")],
    "classify": [("classification", "classify")],
}
#: The output columns whose models may decline a text (the language policy): NULL there
#: for a non-NULL text means "not scored" (docs/language.md, "Policy").
SCREENED_TASKS = ("sentiment", "sentiment_probs", "entities", "entity_sentiment")
#: The detector reads this much of a text when screening (server/textlens/server/runtime/screening.py).
SCREEN_CHARS = 2000
FILE_SUFFIXES = (".parquet", ".csv", ".tsv", ".json", ".ndjson", ".jsonl", ".gz", ".zst")


def is_file_source(name: str) -> bool:
    """Whether `--table`/`--out` names a file (by suffix, path or glob) rather than a table."""
    return (
        name.lower().endswith(FILE_SUFFIXES) or "/" in name or "*" in name or Path(name).is_file()
    )


def source_sql(name: str) -> str:
    """A FROM clause item for a table name (schema.table allowed) or a file path/glob."""
    if is_file_source(name):
        return quote_literal(name)
    return ".".join(quote_ident(part) for part in name.split("."))


@dataclass(frozen=True)
class EnrichResult:
    """What `enrich` wrote, how long it took and the work the cache saved (None: the
    work was done elsewhere, by Ray actors, and `where` says by what)."""

    rows: int
    columns: list[str]
    seconds: float
    output: str
    stats: CacheStats | None
    where: str = ""
    #: Rows the models did not score, by why: {"language de": 812, "language zh": 392}.
    unscored: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        done = (
            f"wrote {self.rows} rows with {', '.join(self.columns)} to {self.output} in "
            f"{self.seconds:.1f}s ({rate:.0f} rows/s)"
        )
        s = self.stats
        if s is None:
            line = f"{done} on {self.where}" if self.where else done
        else:
            line = (
                f"{done}; {s.computed} texts computed in "
                f"{s.calls} backend calls, {s.hits + s.shared} answers from the cache"
            )
        return line + unscored_summary(self.unscored)


def unscored_summary(unscored: dict[str, int]) -> str:
    """ "; 1,204 rows not scored: language de (812), zh (392)" (empty when none were)."""
    if not unscored:
        return ""
    by_reason: dict[str, list[str]] = {}
    for why, n in sorted(unscored.items(), key=lambda item: (-item[1], item[0])):
        reason, _, detail = why.partition(" ")
        by_reason.setdefault(reason, []).append(f"{detail} ({n:,})" if detail else f"({n:,})")
    total = sum(unscored.values())
    parts = "; ".join(f"{reason} {', '.join(items)}" for reason, items in by_reason.items())
    return f"; {total:,} row{'s' if total != 1 else ''} not scored: {parts}"


def _safe_code(code: object) -> str:
    """A language code as printed: the detector's codes are 2-3 letters; anything else is
    shown escaped and cut (it never reaches a terminal raw)."""
    text = str(code)
    return text if re.fullmatch(r"[a-z]{2,3}", text) else repr(text[:16])


def count_unscored(
    con: duckdb.DuckDBPyConnection, output: str, column: str, screened: list[str]
) -> dict[str, int]:
    """Rows of `output` with a text but NULL in a screened column, by the text's language
    (what the policy saw: `language()` of the text's first SCREEN_CHARS characters)."""
    if not screened:
        return {}
    text = quote_ident(column)
    nulls = " OR ".join(f"{quote_ident(c)} IS NULL" for c in screened)
    rows = con.execute(
        f"SELECT language(left(CAST({text} AS VARCHAR), {SCREEN_CHARS})) AS lang, count(*) "
        f"FROM {source_sql(output)} WHERE {text} IS NOT NULL AND ({nulls}) GROUP BY lang"
    ).fetchall()
    return {f"language {_safe_code(lang)}": int(n) for lang, n in rows}


def build_select(
    source: str, column: str, tasks: list[str], labels: list[str], prefix: str
) -> tuple[str, list[str]]:
    """The SELECT that enriches `source`, and the names of the new columns."""
    unknown = [t for t in tasks if t not in TASK_COLUMNS]
    if unknown or not tasks:
        raise ValueError(f"--tasks must name some of {', '.join(TASK_COLUMNS)}; got {tasks}")
    if "classify" in tasks and len(labels) < 2:
        raise ValueError("the classify task needs --labels with two or more labels, e.g. a,b")
    col = f"src.{quote_ident(column)}"
    label_list = "[" + ", ".join(quote_literal(label) for label in labels) + "]"
    items: list[str] = []
    names: list[str] = []
    for task in dict.fromkeys(tasks):
        for out_name, function in TASK_COLUMNS[task]:
            args = f"{col}, {label_list}" if task == "classify" else col
            items.append(f"{function}({args}) AS {quote_ident(prefix + out_name)}")
            names.append(prefix + out_name)
    select = f"SELECT src.*, {', '.join(items)} FROM {source_sql(source)} AS src"
    return select, names


def enrich(
    *,
    table: str,
    column: str,
    out: str,
    db: str | Path | None = None,
    tasks: list[str] | None = None,
    labels: list[str] | None = None,
    models: dict[str, str] | None = None,
    target: str | None = None,
    config: str | Path | None = None,
    truncation: str = "truncate",
    replace: bool = False,
    column_prefix: str = "",
    progress: bool = True,
) -> EnrichResult:
    """Write `out` = `table` + the enriched columns; see the module docstring."""
    tasks = tasks or ["sentiment"]
    out_is_file = is_file_source(out)
    if db is None and not out_is_file:
        raise ValueError(f"--out {out!r} is a table name, so --db is needed to hold it")
    select, names = build_select(table, column, tasks, labels or [], column_prefix)
    if out_is_file and not replace and Path(out).exists():  # refused before any work
        raise ValueError(f"{out} already exists; pass --replace to overwrite it")
    con, registration = open_session(
        db, target=target, config=config, models=models, truncation=truncation
    )
    try:
        check_columns(con.sql(f"SELECT * FROM {source_sql(table)} LIMIT 0").columns, names, column)
        total = con.execute(f"SELECT count(*) FROM {source_sql(table)}").fetchone()
        rows = int(total[0]) if total else 0
        # Every function the query calls, once each (sentiment and sentiment_score share a
        # task, but DuckDB runs them as two functions).
        functions = list(dict.fromkeys(f for t in tasks for _, f in TASK_COLUMNS[t]))
        started = time.monotonic()
        with RowProgress(registration, functions, rows, disable=not progress) as bar:
            if out_is_file:
                copy_query(con, select, _file_format(out), Path(out), replace=replace)
            else:
                verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE"
                target_sql = ".".join(quote_ident(p) for p in out.split("."))
                if not replace and _table_exists(con, out):
                    raise ValueError(
                        f"table {out!r} already exists in {db}; pass --replace to overwrite it"
                    )
                create = f"{verb} {target_sql} AS {select}"
                run_interruptibly(con, lambda: con.execute(create))
            bar.bar.n = rows  # chunks of rows DuckDB skipped (e.g. all NULL) count as done
            bar.bar.refresh()
        elapsed = time.monotonic() - started
        screened = [
            column_prefix + name
            for task in dict.fromkeys(tasks)
            if task in SCREENED_TASKS
            for name, _ in TASK_COLUMNS[task]
        ]
        unscored = count_unscored(con, out, column, screened)
        return EnrichResult(rows, names, elapsed, out, registration.stats(), unscored=unscored)
    finally:
        registration.close()
        con.close()


def check_columns(source_cols: list[str], new: list[str], column: str) -> None:
    existing = {c.lower() for c in source_cols}
    if column.lower() not in existing:
        raise ValueError(f"the source has no column {column!r}; columns: {sorted(existing)}")
    clash = [n for n in new if n.lower() in existing]
    if clash:
        raise ValueError(
            f"the source already has columns {clash}; pass --column-prefix (e.g. tl_) to rename "
            "the new ones"
        )


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, _, table = name.rpartition(".")
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
        "AND (? = '' OR table_schema = ?)",
        [table, schema, schema],
    ).fetchone()
    return bool(found and found[0])


def _file_format(path: str) -> str:
    lowered = path.lower()
    if lowered.endswith(".parquet"):
        return "parquet"
    if lowered.endswith((".json", ".ndjson", ".jsonl")):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    raise ValueError(f"--out {path!r}: write .parquet, .csv or .json files, or name a table")
