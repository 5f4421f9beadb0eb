"""`textlens demo-data`: the warehouse the README's and docs' examples query."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from textlens.cli.main import USAGE, main


def test_it_writes_the_three_tables_and_will_not_overwrite_by_accident(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "warehouse.duckdb"
    assert main(["demo-data", str(path), "--reviews", "40", "--news", "30"]) == 0
    assert "reviews (40 rows), news (30 rows), pairs (4 rows)" in capsys.readouterr().out
    with duckdb.connect(str(path), read_only=True) as con:
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("reviews", "news", "pairs")
        }  # type: ignore[index]
        columns = [c[0] for c in con.execute("DESCRIBE reviews").fetchall()]
    assert counts == {"reviews": 40, "news": 30, "pairs": 4}
    assert {"review", "product", "review_date"} <= set(columns)
    assert main(["demo-data", str(path)]) == USAGE
    assert "--replace" in capsys.readouterr().err
    assert main(["demo-data", str(path), "--reviews", "10", "--news", "10", "--replace"]) == 0
