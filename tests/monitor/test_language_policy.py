"""`textlens monitor` records the rows its sentiment model did not score, and why.

Tiny models declared English-only (embedded, from a TOML config): German and
Chinese headlines are NULL with `not_scored` in scores.parquet, counted apart
per window (`unscored`, `unscored_share`; `n` and the negative share count only
scored rows) and in monitor.json, and the CLI line says how many and why.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.connectors.duckdb.helpers import declared
from tests.monitor.helpers import parquet_rows as _rows
from tests.monitor.helpers import write_stream

pytest.importorskip("duckdb")

GERMAN = "Siemens-Aktie bricht nach enttäuschender Prognose um zwölf Prozent ein"
CHINESE = "阿里巴巴股价大跌，投资者担心监管风险"
ENGLISH = "$TSLA up 4.2% after Q3 beat, PT $300"
DAY = dt.datetime(2026, 3, 2)


def test_monitor_counts_the_rows_not_scored(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    from textlens.jobs.enrich import unscored_summary
    from textlens.monitor import MonitorSpec, run_monitor

    config = tmp_path / "tiny.toml"
    config.write_text(declared(tiny_models_dir), encoding="utf-8")
    texts = [GERMAN] * 2 + [CHINESE] + [ENGLISH] * 5
    rows = [(i, DAY + dt.timedelta(hours=i), "ACME", t) for i, t in enumerate(texts)]
    write_stream(tmp_path / "w.duckdb", rows)
    spec = MonitorSpec(
        db=tmp_path / "w.duckdb", table="news", text="headline", time="published_at",
        by=["ticker"], out=tmp_path / "out", progress=False, config=config,
    )  # fmt: skip
    result = run_monitor(spec)
    assert result.unscored == {"language de": 2, "language zh": 1}
    assert unscored_summary(result.unscored) == "; 3 rows not scored: language de (2), zh (1)"
    scores = _rows(
        tmp_path / "out" / "scores.parquet",
        "SELECT not_scored, count(*), count(sentiment) FROM t GROUP BY ALL ORDER BY 1",
    )
    assert scores == [("language de", 2, 0), ("language zh", 1, 0), (None, 5, 5)]
    (window,) = _rows(
        tmp_path / "out" / "windows.parquet", "SELECT n, unscored, unscored_share FROM t"
    )
    assert window == (5, 3, pytest.approx(3 / 8))
    manifest = json.loads((tmp_path / "out" / "monitor.json").read_text(encoding="utf-8"))
    assert manifest["unscored"] == 3 and manifest["unscored_share"] == pytest.approx(3 / 8)
    assert manifest["unscored_by"] == {"language de": 2, "language zh": 1}
