"""Windows, trailing baselines and the spike test.

Per group (a value of a `--by` column, or a topic) and window, `negative_share`
= x / n is compared with the share x0 / n0 over the trailing `--baseline`
(the windows before this one, not including it) by a two-sample test on
Anscombe's variance-stabilised proportions:

    z = 2 (asin sqrt((x + 3/8) / (n + 3/4)) - asin sqrt((x0 + 3/8) / (n0 + 3/4)))
        / sqrt(1 / (n + 1/2) + 1 / (n0 + 1/2))

Unlike the plain two-proportion z-test, whose tail is several times too heavy
when n * p is small (5% negative in 25-row windows: 1.1e-3 above z = 4 instead
of the normal 3.2e-5), this one stays at or under the normal tail for small
counts and rare negatives, and it needs no special case for 0% or 100%. It
counts the uncertainty of both shares, so 3 of 5 against a 20-row baseline
gives a small z. A window is *above threshold* when `n >= min_n`,
`n0 >= min_baseline_n`, `p - p0 >= min_lift` and `z >= threshold`.
Consecutive above-threshold windows of a group less than `cooldown` apart
are one *episode* and give one alert, at its first window. Measured
false-alert rates on stationary streams: `scripts/monitor_false_positives.py`,
quoted in docs/monitoring.md.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from textlens.connectors.duckdb.quoting import quote_ident, quote_literal
from textlens.monitor.spec import MonitorSpec

if TYPE_CHECKING:
    import duckdb

#: Windows are aligned to this Monday, so 1w windows run Monday to Monday.
ORIGIN = "TIMESTAMP '2000-01-03 00:00:00'"


def interval(delta: dt.timedelta) -> str:
    return f"INTERVAL {int(delta.total_seconds())} SECOND"


def bucket_sql(spec: MonitorSpec, value: str) -> str:
    """The SQL window start of a timestamp expression."""
    return f"time_bucket({interval(spec.window_delta)}, {value}, {ORIGIN})"


def build_windows(con: duckdb.DuckDBPyConnection, spec: MonitorSpec) -> None:
    """Table `win`: dimension, grp, window_start, n, negative, mean_score, unscored, folded
    (from `scored`). `n` counts the rows the model scored: a text it did not read
    (`unscored`, the language policy) is neither negative nor not, so it is left out of
    the shares. Near-copies folded by `--dedupe` (`copies = 0`) count in `folded` only."""
    parts = []
    for d in spec.dimensions:
        col = quote_ident(d)
        parts.append(
            f"SELECT {quote_literal(d)} AS dimension, {col} AS grp, "
            f"{bucket_sql(spec, 'ts')} AS window_start, "
            "count(*) FILTER (WHERE not_scored IS NULL AND copies > 0) AS n, "
            "count(*) FILTER (WHERE sentiment = 'negative' AND copies > 0) AS negative, "
            "avg(sentiment_score) FILTER (WHERE copies > 0) AS mean_score, "
            "count(*) FILTER (WHERE not_scored IS NOT NULL AND copies > 0) AS unscored, "
            "count(*) FILTER (WHERE copies = 0) AS folded "
            f"FROM scored WHERE {col} IS NOT NULL GROUP BY ALL"
        )
    con.execute("CREATE TABLE win AS " + " UNION ALL ".join(parts))


def spike_test(con: duckdb.DuckDBPyConnection, spec: MonitorSpec, from_sql: str | None) -> None:
    """Table `tested`: `win` rows (window_start >= from, when given) with baseline, z, flag."""
    keep = f"WHERE w.window_start >= {from_sql}" if from_sql else ""
    con.execute(
        f"""
        CREATE TABLE tested AS
        WITH based AS (
            SELECT w.dimension, w.grp, w.window_start, w.n, w.negative, w.mean_score,
                   w.unscored, w.folded,
                   coalesce(sum(b.n), 0)::BIGINT AS baseline_n,
                   coalesce(sum(b.negative), 0)::BIGINT AS baseline_negative
            FROM win w LEFT JOIN win b
              ON b.dimension = w.dimension AND b.grp = w.grp
             AND b.window_start < w.window_start
             AND b.window_start >= w.window_start - {interval(spec.baseline_delta)}
            {keep}
            GROUP BY ALL
        ), shares AS (
            SELECT *, CASE WHEN n > 0 THEN negative / n END AS negative_share,
                   unscored / (n + unscored) AS unscored_share,
                   CASE WHEN baseline_n > 0 THEN baseline_negative / baseline_n END
                       AS baseline_share,
                   CASE WHEN baseline_n > 0 THEN
                       2 * (asin(sqrt((negative + 0.375) / (n + 0.75)))
                            - asin(sqrt((baseline_negative + 0.375) / (baseline_n + 0.75))))
                       / sqrt(1 / (n + 0.5) + 1 / (baseline_n + 0.5))
                   END AS z
            FROM based
        )
        SELECT * EXCLUDE (z), window_start + {interval(spec.window_delta)} AS window_end, z,
               coalesce(n >= {spec.min_n} AND baseline_n >= {spec.min_baseline_n}
                        AND negative_share - baseline_share >= {spec.min_lift}
                        AND z >= {spec.threshold}, false) AS above_threshold
        FROM shares
        """
    )


def episode_starts(
    flagged: list[tuple[str, str, dt.datetime]], cooldown: dt.timedelta
) -> set[tuple[str, str, dt.datetime]]:
    """The first window of each episode among above-threshold (dimension, group, start) rows."""
    starts: set[tuple[str, str, dt.datetime]] = set()
    last: dict[tuple[str, str], dt.datetime] = {}
    for dimension, grp, start in sorted(flagged):
        key = (dimension, grp)
        previous = last.get(key)
        if previous is None or start - previous >= cooldown:
            starts.add((dimension, grp, start))
        last[key] = start
    return starts
