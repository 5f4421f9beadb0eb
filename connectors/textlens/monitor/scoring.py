"""Scoring the watched rows through the textlens SQL functions, with a cache on disk.

A text the sentiment model does not read (the language policy, docs/language.md)
has a NULL sentiment and `not_scored` = why ("language de"); the windows count
such rows apart (`unscored`) instead of reading them as not negative.

Sentiment (and the topic, with `--by-topic`) of each distinct text is kept in
`OUT/.cache/<function>-<model>-<version>.parquet`, keyed by the md5 of the
text: a rerun over the same rows calls no model, a cron run scores only the
new texts, and a new model version starts a new cache file (the old one is
removed), so stale labels are never mixed with new ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from textlens.connectors.duckdb.quoting import quote_ident, quote_literal
from textlens.contract.results import ModelInfo
from textlens.monitor.spec import MonitorSpec

if TYPE_CHECKING:
    import duckdb

    from textlens.connectors.duckdb.register import Registration

CACHE_DIR = ".cache"
#: The detector reads this much of a text when screening (server/textlens/server/runtime/screening.py).
SCREEN_CHARS = 2000


@dataclass
class Scored:
    """What scoring did: rows read and skipped, texts computed (0 on a rerun), models used."""

    rows: int
    skipped: int
    computed: int
    models: dict[str, str]
    #: Rows the sentiment model did not score, by why ({"language de": 12}).
    unscored: dict[str, int] = field(default_factory=dict)
    #: Near-copies `--dedupe` folded into another row (`monitor/dedupe.py`).
    folded: int = 0


def served_model(registration: Registration, task: str, name: str | None) -> ModelInfo:
    """The model a function will use (the task's default without a name), or a clear error."""
    infos = registration.models()
    for info in infos:
        if (name and info.name == name) or (not name and info.task == task and info.is_default):
            if info.task != task:
                raise ValueError(f"model {name!r} serves {info.task}, not {task}")
            return info
    served = ", ".join(f"{i.name} ({i.task})" for i in infos) or "none"
    if task == "classify" and name:
        raise ValueError(
            f"no topic model {name!r} is served (served: {served}); fit one with "
            f"`textlens topics fit --register {name}` and serve that registry"
        )
    raise ValueError(f"no {task} model {name or ''!s} is served (served: {served})")


def _cache_file(out: Path, function: str, info: ModelInfo) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", f"{function}-{info.name}-{info.version}")
    return out / CACHE_DIR / f"{safe}.parquet"


def write_parquet(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    """COPY `query` to a temporary name and rename it: readers see the old file or the new one."""
    from textlens.jobs.sql import copy_query

    path.parent.mkdir(parents=True, exist_ok=True)
    copy_query(con, query, "parquet", path)


def _cached_column(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    function: str,
    info: ModelInfo,
    columns: dict[str, str],
    progress: bool,
    registration: Registration,
) -> tuple[str, int]:
    """Table `cache_<function>` (text_key + `columns`) for every text in `src`; (table, computed)."""
    from textlens.connectors.duckdb.progress import RowProgress

    path = _cache_file(out, function, info)
    table = f"cache_{function}"
    select = ", ".join(f"{expr} AS {quote_ident(col)}" for col, expr in columns.items())
    names = ", ".join(quote_ident(c) for c in columns)
    if path.is_file() and _has_columns(con, path, columns):
        con.execute(
            f"CREATE TABLE {table} AS SELECT text_key, {names} FROM read_parquet(?)", [str(path)]
        )
    else:
        con.execute(f"CREATE TABLE {table} AS SELECT text_key, {select} FROM src WHERE false")
    fresh = con.execute(
        f"SELECT count(DISTINCT text_key) FROM src ANTI JOIN {table} USING (text_key)"
    ).fetchone()
    todo = int(fresh[0]) if fresh else 0
    if todo:
        with RowProgress(registration, "sentiment" if function == "sentiment" else "classify",
                         todo, desc=f"monitor {function}", disable=not progress):  # fmt: skip
            con.execute(
                f"INSERT INTO {table} SELECT text_key, {select} FROM "
                f"(SELECT text_key, any_value(text) AS text FROM src "
                f" ANTI JOIN {table} USING (text_key) GROUP BY text_key)"
            )
        for old in path.parent.glob(f"{function}-*.parquet"):
            if old != path:
                old.unlink(missing_ok=True)  # another model version's labels
        write_parquet(con, f"SELECT * FROM {table} ORDER BY text_key", path)
    return table, todo


def _has_columns(con: duckdb.DuckDBPyConnection, path: Path, columns: dict[str, str]) -> bool:
    """Whether a cache file has every column (one written before a column existed is
    rebuilt, not read: its texts are scored again)."""
    found = {row[0] for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)])
             .fetchall()}  # fmt: skip
    return set(columns) <= found


def score(
    con: duckdb.DuckDBPyConnection, spec: MonitorSpec, registration: Registration | None,
    source: str, since_sql: str | None,
) -> Scored:  # fmt: skip
    """Create table `scored`: ts, the --by columns, text, sentiment, sentiment_score[, topic]."""
    by = "".join(f", CAST({quote_ident(b)} AS VARCHAR) AS {quote_ident(b)}" for b in spec.by)
    label = (
        f", CAST({quote_ident(spec.sentiment_column)} AS VARCHAR) AS label"
        if spec.sentiment_column
        else ""
    )
    where = f" AND {quote_ident(spec.time)} >= {since_sql}" if since_sql else ""
    text = quote_ident(spec.text)
    con.execute(
        f"CREATE TABLE raw AS SELECT CAST({quote_ident(spec.time)} AS TIMESTAMP) AS ts{by}, "
        f"CAST({text} AS VARCHAR) AS text{label} FROM {source} WHERE true{where}"
    )
    con.execute(
        "CREATE TABLE src AS SELECT *, md5(text) AS text_key FROM raw "
        "WHERE ts IS NOT NULL AND text IS NOT NULL AND trim(text) <> ''"
    )
    counts = con.execute("SELECT (SELECT count(*) FROM raw), (SELECT count(*) FROM src)").fetchone()
    total, kept = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    models: dict[str, str] = {}
    computed = 0
    joins = ""
    columns: list[str] = []
    if spec.sentiment_column:
        columns += [
            "lower(label) AS sentiment",
            "NULL::DOUBLE AS sentiment_score",
            "NULL::VARCHAR AS not_scored",
        ]
    else:
        assert registration is not None
        info = served_model(registration, "sentiment", spec.sentiment_model)
        models["sentiment"] = f"{info.name} {info.version}"
        name = f", {quote_literal(info.name)}"
        why = f"'language ' || language(left(text, {SCREEN_CHARS}))"
        table, n = _cached_column(
            con, spec.out, "sentiment", info,
            {"sentiment": f"sentiment(text{name})", "sentiment_score": f"sentiment_score(text{name})",
             "not_scored": f"CASE WHEN sentiment(text{name}) IS NULL THEN {why} END"},
            spec.progress, registration,
        )  # fmt: skip
        computed += n
        joins += f" JOIN {table} USING (text_key)"
        columns += ["sentiment", "sentiment_score", "not_scored"]
    if spec.by_topic:
        assert registration is not None
        info = served_model(registration, "classify", spec.by_topic)
        models["topic"] = f"{info.name} {info.version}"
        table, n = _cached_column(
            con, spec.out, "topic", info,
            {"topic": f"classify(text, {quote_literal(info.name)})"}, spec.progress, registration,
        )  # fmt: skip
        computed += n
        joins += f" JOIN {table} USING (text_key)"
        columns.append("topic")
    by_cols = "".join(f", {quote_ident(b)}" for b in spec.by)
    con.execute(
        f"CREATE TABLE scored AS SELECT ts{by_cols}, text, {', '.join(columns)} FROM src{joins}"
    )
    unscored = con.execute(
        "SELECT not_scored, count(*) FROM scored WHERE not_scored IS NOT NULL GROUP BY ALL"
    ).fetchall()
    return Scored(
        rows=kept, skipped=total - kept, computed=computed, models=models,
        unscored={str(why): int(count) for why, count in unscored},
    )  # fmt: skip
