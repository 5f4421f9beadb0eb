"""`textlens monitor` on synthetic streams: the spike is found, stationary streams stay quiet."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.monitor.helpers import START, TICKERS, Spike, stream, write_stream
from tests.monitor.helpers import parquet_rows as _rows

SPIKE = Spike("CRUX", first_day=50, days=4, share=0.7)
ALERT_COLUMNS = [
    "alert_id", "dimension", "group_value", "ticker", "window_start", "window_end", "n",
    "negative", "negative_share", "mean_score", "folded", "baseline_n", "baseline_share", "z", "examples",
]  # fmt: skip


def _run(db: Path, out: Path, **knobs: Any) -> Any:
    from textlens.monitor import MonitorSpec, run_monitor

    spec = MonitorSpec(
        db=db, table="news", text="headline", time="published_at", by=["ticker"], out=out,
        progress=False, **knobs,
    )  # fmt: skip
    return run_monitor(spec)


def _close(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Equal rows, floats to float32 rounding (float32 engines round with the batch's padding)."""
    return len(a) == len(b) and all(
        x == pytest.approx(y, rel=1e-6, abs=1e-9) if isinstance(y, float) else x == y
        for x, y in zip(a, b, strict=True)
    )


@pytest.fixture(scope="module")
def spiked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("monitor")
    db = root / "w.duckdb"
    write_stream(db, stream(days=70, per_day=150, spike=SPIKE))
    result = _run(db, root / "out")
    return {"db": db, "out": root / "out", "result": result, "root": root}


def test_templates_are_labelled_as_written(spiked: dict[str, Any]) -> None:
    got = _rows(
        spiked["out"] / "scores.parquet",
        "SELECT count(*) FILTER (WHERE coalesce(headline_class = 'negative', false) = (sentiment = 'negative'))"
        " / count(*) FROM (SELECT *, CASE WHEN text SIMILAR TO "
        "'.*(plunge|tumble|crashes|Terrible|slashes).*' THEN 'negative' END AS headline_class "
        "FROM t)",
    )
    assert got[0][0] >= 0.99


def test_the_injected_spike_is_one_alert_in_the_right_group_and_window(
    spiked: dict[str, Any],
) -> None:
    result = spiked["result"]
    assert result.rows == 70 * 150 and result.skipped == 0
    alerts = _rows(spiked["out"] / "alerts.parquet")
    columns = [c[0] for c in _rows(spiked["out"] / "alerts.parquet", "DESCRIBE t")]
    assert columns == ALERT_COLUMNS
    assert len(alerts) == 1, alerts
    alert = dict(zip(ALERT_COLUMNS, alerts[0], strict=True))
    assert alert["ticker"] == "CRUX" and alert["dimension"] == "ticker"
    first = START + dt.timedelta(days=SPIKE.first_day)
    assert first <= alert["window_start"] < first + dt.timedelta(days=SPIKE.days)
    assert alert["window_end"] - alert["window_start"] == dt.timedelta(days=1)
    assert alert["negative_share"] > 0.5 > 0.3 > alert["baseline_share"]
    assert alert["z"] >= 4 and alert["n"] >= 20
    assert len(alert["examples"]) == 3 and all("CRUX" in e for e in alert["examples"])
    # The spike's later windows are above threshold too, but within the cool-down: one alert.
    flagged = _rows(
        spiked["out"] / "windows.parquet",
        "SELECT count(*) FILTER (WHERE above_threshold), count(*) FILTER (WHERE is_alert), "
        "count(DISTINCT ticker) FILTER (WHERE above_threshold) FROM t",
    )[0]
    assert flagged[0] >= 2 and flagged[1] == 1 and flagged[2] == 1


def test_a_stationary_stream_gives_no_alert(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    write_stream(db, stream(days=70, per_day=150, seed=5))
    result = _run(db, tmp_path / "out")
    assert result.alerts == 0
    windows = _rows(tmp_path / "out" / "windows.parquet", "SELECT count(*), max(z) FROM t")[0]
    assert windows[0] == 70 * len(TICKERS)
    assert windows[1] < 4  # the threshold; z is about standard normal here


def test_windows_below_min_n_never_alert(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    # 30 rows a day over 6 tickers: ~5 per window, all negative during the spike.
    write_stream(db, stream(days=70, per_day=30, spike=Spike("CRUX", 50, 4, 1.0)))
    quiet = _run(db, tmp_path / "quiet", min_baseline_n=20)
    assert quiet.alerts == 0
    small = _rows(tmp_path / "quiet" / "windows.parquet", "SELECT max(n), max(z) FROM t")[0]
    assert small[0] < 20 and small[1] > 4  # the z alone would have alerted
    loud = _run(db, tmp_path / "loud", min_n=3, min_baseline_n=20)
    assert loud.alerts >= 1  # the same data alerts once min_n allows windows this small
    tickers = _rows(tmp_path / "loud" / "alerts.parquet", "SELECT DISTINCT ticker FROM t")
    assert tickers == [("CRUX",)]


def test_a_rerun_computes_nothing_and_writes_the_same_files(spiked: dict[str, Any]) -> None:
    out = spiked["out"]
    before = {
        f: (out / f).read_bytes() for f in ("windows.parquet", "alerts.parquet", "scores.parquet")
    }
    again = _run(spiked["db"], out)
    assert again.computed == 0 and spiked["result"].computed > 0
    assert {f: (out / f).read_bytes() for f in before} == before


def test_since_extends_the_outputs_like_a_full_run(tmp_path: Path) -> None:
    rows = stream(days=70, per_day=150, spike=SPIKE)
    cut = START + dt.timedelta(days=52)  # in the middle of the spike
    db = tmp_path / "w.duckdb"
    write_stream(db, [r for r in rows if r[1] < cut])
    _run(db, tmp_path / "inc")
    write_stream(db, rows)
    later = _run(db, tmp_path / "inc", since=cut)
    assert later.computed == 0  # every text was scored by the first run already
    _run(db, tmp_path / "full")
    for name in ("windows.parquet", "alerts.parquet", "scores.parquet"):
        inc, full = _rows(tmp_path / "inc" / name), _rows(tmp_path / "full" / name)
        assert len(inc) == len(full) > 0, name
        for a, b in zip(inc, full, strict=True):
            assert _close(a, b), (name, a, b)
    with pytest.raises(ValueError, match="other settings"):
        _run(db, tmp_path / "inc", since=cut, threshold=3.0)


READER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM news").fetchone()[0], flush=True)
time.sleep(float(sys.argv[2]))
"""
WRITER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE OR REPLACE TABLE touched AS SELECT 1")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(script: str, db: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip()
    return proc


def test_a_reader_in_another_process_does_not_block_it(
    spiked: dict[str, Any], tmp_path: Path
) -> None:
    reader = _hold(READER, spiked["db"], 120)
    try:
        result = _run(spiked["db"], tmp_path / "out")
        assert result.alerts == 1
        assert reader.poll() is None  # the reader was never disturbed
    finally:
        reader.kill()
        reader.wait()
    writer = _hold(WRITER, spiked["db"], 120)
    try:
        started = time.monotonic()
        with pytest.raises(ValueError, match="holds it for writing"):
            _run(spiked["db"], tmp_path / "out2")
        assert time.monotonic() - started < 30
    finally:
        writer.kill()
        writer.wait()


def test_bad_settings_say_what_to_do(tmp_path: Path) -> None:
    from textlens.monitor import MonitorSpec

    base: dict[str, Any] = dict(db=tmp_path / "w.duckdb", table="news", text="headline",
                                time="published_at", out=tmp_path / "o")  # fmt: skip
    with pytest.raises(ValueError, match="--by COLUMN"):
        MonitorSpec(**base)
    with pytest.raises(ValueError, match="not understood"):
        MonitorSpec(**base, by=["ticker"], window="1 day")
    with pytest.raises(ValueError, match="at least one --window"):
        MonitorSpec(**base, by=["ticker"], window="7d", baseline="1d")
    with pytest.raises(ValueError, match="plain column name"):
        MonitorSpec(**base, by=["ticker; DROP TABLE news"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _run(tmp_path / "missing.duckdb", tmp_path / "o")


def test_false_alert_rate_on_long_stationary_series_is_within_the_normal_tail(
    tmp_path: Path,
) -> None:
    """40 groups x 300 days, 25 rows a window, 10% negative: the labelled path, no model."""
    import math

    from textlens.monitor import MonitorSpec, run_monitor
    from textlens.samples.headline_streams import write_stationary

    db = tmp_path / "s.duckdb"
    write_stationary(db, groups=40, days=300, rows_per_window=25, p=0.1, seed=3)
    spec = MonitorSpec(
        db=db, table="s", text="body", time="ts", by=["grp"], out=tmp_path / "out",
        sentiment_column="label", threshold=3.0, min_lift=0.0, progress=False,
    )  # fmt: skip
    result = run_monitor(spec)
    above, eligible = _rows(
        tmp_path / "out" / "windows.parquet",
        "SELECT count(*) FILTER (WHERE above_threshold), "
        "count(*) FILTER (WHERE n >= 20 AND baseline_n >= 50) FROM t",
    )[0]
    expected = eligible * 0.5 * math.erfc(3 / math.sqrt(2))  # the normal tail above z = 3
    assert eligible > 10_000
    assert above <= 1.5 * expected + 3, (above, expected)
    assert result.alerts <= above
    # And a real change in the same kind of stream is caught: every window of g000 negative.
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE s SET label = 'negative' WHERE grp = 'g000' AND ts >= '2025-07-01'"
                    " AND ts < '2025-07-04'")  # fmt: skip
    spiked = run_monitor(spec)
    got = _rows(
        tmp_path / "out" / "alerts.parquet", "SELECT grp, window_start FROM t WHERE grp = 'g000'"
    )
    assert spiked.alerts >= 1 and any(
        dt.datetime(2025, 7, 1) <= start < dt.datetime(2025, 7, 4) for _, start in got
    )
