"""One monitor run: attach the warehouse read-only, score, window, test, write atomically."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textlens.connectors.duckdb.quoting import quote_ident, quote_literal
from textlens.monitor.dedupe import add_copies_column, fold_near_copies
from textlens.monitor.scoring import Scored, score, write_parquet
from textlens.monitor.spec import MonitorSpec
from textlens.monitor.spikes import bucket_sql, build_windows, episode_starts, spike_test

if TYPE_CHECKING:
    import duckdb

    from textlens.connectors.duckdb.register import Registration

WINDOWS_FILE = "windows.parquet"
ALERTS_FILE = "alerts.parquet"
SCORES_FILE = "scores.parquet"
MANIFEST_FILE = "monitor.json"
WAREHOUSE = "warehouse"  # the ATTACH alias of --db


@dataclass
class MonitorResult:
    """Counts of the run and where its files are."""

    out: Path
    rows: int
    skipped: int
    computed: int
    windows: int
    alerts: int
    new_alerts: int
    models: dict[str, str]
    #: Rows (of those read this run) the sentiment model did not score, by why.
    unscored: dict[str, int] = field(default_factory=dict)
    #: Near-copies --dedupe left out of the counts (of the rows read this run).
    folded: int = 0

    def files(self) -> dict[str, Path]:
        names = (WINDOWS_FILE, ALERTS_FILE, SCORES_FILE, MANIFEST_FILE)
        return {n.split(".")[0]: self.out / n for n in names}


def _attach(spec: MonitorSpec) -> duckdb.DuckDBPyConnection:
    import duckdb

    if not spec.db.is_file():
        raise FileNotFoundError(f"DuckDB database {spec.db} does not exist")
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute(f"ATTACH {quote_literal(str(spec.db.resolve()))} AS {WAREHOUSE} (READ_ONLY)")
    except duckdb.Error as exc:
        con.close()
        raise ValueError(
            f"could not open {spec.db} read-only ({exc}); another process holds it for "
            "writing — monitor only reads, so run it when that writer is done"
        ) from exc
    return con


def _source(spec: MonitorSpec) -> str:
    return ".".join([WAREHOUSE, *(quote_ident(p) for p in spec.table.split("."))])


def settings_record(spec: MonitorSpec, models: dict[str, str]) -> dict[str, Any]:
    """What the outputs depend on; `--since` refuses to extend outputs made with other settings."""
    return {
        "table": spec.table, "text": spec.text, "time": spec.time, "by": spec.by,
        "by_topic": spec.by_topic, "window": spec.window, "baseline": spec.baseline,
        "cooldown": spec.cooldown, "min_n": spec.min_n, "min_baseline_n": spec.min_baseline_n,
        "threshold": spec.threshold, "min_lift": spec.min_lift, "examples": spec.examples,
        "sentiment_column": spec.sentiment_column, "models": models, "dedupe": spec.dedupe,
        # Outputs with `not_scored`/`unscored` (the language policy) and `copies`/`folded`
        # (--dedupe) columns: earlier ones cannot be extended with --since (the columns
        # differ), so the record says which.
        "outputs": 3,
    }  # fmt: skip


def _registration(con: duckdb.DuckDBPyConnection, spec: MonitorSpec) -> Registration | None:
    from textlens.connectors.duckdb import register

    if spec.sentiment_column and not spec.by_topic and spec.dedupe is None:
        return None
    return register(con, spec.target, config=spec.config)


def _since_bucket(con: duckdb.DuckDBPyConnection, spec: MonitorSpec) -> str | None:
    if spec.since is None:
        return None
    row = con.execute(f"SELECT {bucket_sql(spec, '?::TIMESTAMP')}", [spec.since]).fetchone()
    assert row is not None
    return f"TIMESTAMP '{row[0]}'"


def _previous(spec: MonitorSpec, models: dict[str, str]) -> bool:
    """Whether `--since` has earlier outputs to extend (and they were made the same way)."""
    manifest = spec.out / MANIFEST_FILE
    if spec.since is None or not manifest.is_file():
        return False
    recorded = json.loads(manifest.read_text(encoding="utf-8")).get("settings")
    if recorded != settings_record(spec, models):
        raise ValueError(
            f"{spec.out} was written with other settings or model versions than this run; "
            "run once without --since to rebuild it (the score cache keeps that cheap)"
        )
    return all((spec.out / f).is_file() for f in (WINDOWS_FILE, ALERTS_FILE, SCORES_FILE))


def _group_columns(spec: MonitorSpec) -> str:
    return "".join(
        f", CASE WHEN dimension = {quote_literal(d)} THEN grp END AS {quote_ident(d)}"
        for d in spec.dimensions
    )


def _windows_table(con: duckdb.DuckDBPyConnection, spec: MonitorSpec, since: str | None,
                   extend: bool) -> None:  # fmt: skip
    """Table `windows`: earlier outputs before `since` + this run's windows, alerts flagged."""
    con.execute(
        "CREATE TABLE windows AS SELECT dimension, grp AS group_value"
        f"{_group_columns(spec)}, window_start, window_end, n, negative, negative_share, "
        "mean_score, unscored, unscored_share, folded, baseline_n, baseline_share, z, "
        "above_threshold, "
        "false AS is_alert FROM tested"
    )
    if extend and since:
        path = quote_literal(str(spec.out / WINDOWS_FILE))
        con.execute(
            f"INSERT INTO windows SELECT * REPLACE (false AS is_alert) FROM read_parquet({path}) "
            f"WHERE window_start < {since}"
        )
    flagged = con.execute(
        "SELECT dimension, group_value, window_start FROM windows WHERE above_threshold"
    ).fetchall()
    starts = episode_starts([(str(a), str(b), c) for a, b, c in flagged], spec.cooldown_delta)
    if starts:
        con.execute("CREATE TABLE starts (dimension VARCHAR, group_value VARCHAR, ws TIMESTAMP)")
        con.executemany("INSERT INTO starts VALUES (?, ?, ?)", sorted(starts))
        con.execute(
            "UPDATE windows SET is_alert = true FROM starts WHERE starts.dimension = "
            "windows.dimension AND starts.group_value = windows.group_value "
            "AND starts.ws = windows.window_start"
        )


def _alerts_table(con: duckdb.DuckDBPyConnection, spec: MonitorSpec, since: str | None,
                  extend: bool) -> None:  # fmt: skip
    rows = " UNION ALL ".join(
        f"SELECT DISTINCT {quote_literal(d)} AS dimension, {quote_ident(d)} AS group_value, "
        f"{bucket_sql(spec, 'ts')} AS window_start, text, sentiment_score FROM scored "
        f"WHERE sentiment = 'negative' AND copies > 0 AND {quote_ident(d)} IS NOT NULL"
        for d in spec.dimensions
    )
    new = f"AND w.window_start >= {since}" if since else ""
    con.execute(
        f"""
        CREATE TABLE alerts AS
        WITH examples AS (
            SELECT dimension, group_value, window_start,
                   list(text ORDER BY sentiment_score ASC NULLS LAST, text)[1:{spec.examples}]
                       AS examples
            FROM ({rows}) GROUP BY ALL
        )
        SELECT substr(md5(w.dimension || chr(31) || w.group_value || chr(31)
                          || CAST(w.window_start AS VARCHAR)), 1, 16) AS alert_id,
               w.* EXCLUDE (above_threshold, is_alert, unscored, unscored_share),
               coalesce(e.examples, []::VARCHAR[]) AS examples
        FROM windows w LEFT JOIN examples e USING (dimension, group_value, window_start)
        WHERE w.is_alert {new}
        """
    )
    if extend and since:
        path = quote_literal(str(spec.out / ALERTS_FILE))
        con.execute(
            f"INSERT INTO alerts SELECT * FROM read_parquet({path}) WHERE window_start < {since}"
        )


def run_monitor(spec: MonitorSpec) -> MonitorResult:
    """Score, window, test and write `windows`, `alerts`, `scores` (+ `monitor.json`)."""
    con = _attach(spec)
    registration = None
    try:
        registration = _registration(con, spec)
        spec.out.mkdir(parents=True, exist_ok=True)
        since = _since_bucket(con, spec)
        rows_from = f"{since} - {_interval(spec.baseline_delta)}" if since else None
        scored: Scored = score(con, spec, registration, _source(spec), rows_from)
        if spec.dedupe is not None:
            assert registration is not None
            scored.folded = fold_near_copies(con, spec, registration)
        else:
            add_copies_column(con)
        extend = _previous(spec, scored.models)
        if since and not extend:
            since = None  # nothing to extend: this run's windows are all there is
        build_windows(con, spec)
        spike_test(con, spec, since)
        _windows_table(con, spec, since, extend)
        _alerts_table(con, spec, since, extend)
        order = "dimension, group_value, window_start"
        by_cols = "".join(f", {quote_ident(b)}" for b in spec.by)
        score_query = "SELECT * FROM scored" + (f" WHERE ts >= {since}" if since else "")
        if extend and since:
            score_query += (
                f" UNION ALL SELECT * FROM read_parquet({quote_literal(str(spec.out / SCORES_FILE))})"
                f" WHERE ts < {since}"
            )
        write_parquet(
            con, f"SELECT * FROM ({score_query}) ORDER BY ts{by_cols}, text", spec.out / SCORES_FILE
        )
        write_parquet(con, f"SELECT * FROM windows ORDER BY {order}", spec.out / WINDOWS_FILE)
        write_parquet(con, f"SELECT * FROM alerts ORDER BY {order}", spec.out / ALERTS_FILE)
        counts = con.execute(
            "SELECT (SELECT count(*) FROM windows), (SELECT count(*) FROM alerts), "
            f"(SELECT count(*) FROM alerts WHERE {since or 'NULL'} IS NULL OR window_start >= {since or 'NULL'})"
        ).fetchone()
        assert counts is not None
        manifest = {"settings": settings_record(spec, scored.models),
                    "windows": int(counts[0]), "alerts": int(counts[1]),
                    "rows": scored.rows, "unscored": sum(scored.unscored.values()),
                    "unscored_share": sum(scored.unscored.values()) / scored.rows
                    if scored.rows else 0.0,
                    "unscored_by": dict(sorted(scored.unscored.items())),
                    "folded": scored.folded}  # fmt: skip
        tmp = spec.out / f".{MANIFEST_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, spec.out / MANIFEST_FILE)
        return MonitorResult(
            out=spec.out, rows=scored.rows, skipped=scored.skipped, computed=scored.computed,
            windows=int(counts[0]), alerts=int(counts[1]), new_alerts=int(counts[2]),
            models=scored.models, unscored=scored.unscored, folded=scored.folded,
        )  # fmt: skip
    finally:
        if registration is not None:
            registration.close()
        con.close()


def _interval(delta: dt.timedelta) -> str:
    return f"INTERVAL {int(delta.total_seconds())} SECOND"
