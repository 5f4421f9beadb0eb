"""`textlens monitor --by-topic`: windows per fitted topic, assigned by the served model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def test_monitor_groups_by_the_topics_of_a_registered_model(
    topics_fitted: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import duckdb

    from textlens.cli import main

    config = tmp_path / "embedded.toml"
    config.write_text(f'[server]\nregistry = "{topics_fitted["registry"]}"\n')
    argv = [
        "monitor", "--db", str(topics_fitted["db"]), "--table", "news", "--text", "body",
        "--time", "published_at", "--by-topic", "news-topics", "--window", "1w",
        "--baseline", "2w", "--out", str(tmp_path / "out"), "--config", str(config),
        "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    assert "600 rows" in capsys.readouterr().out
    con = duckdb.connect()
    out = tmp_path / "out"
    by_topic = con.execute(
        f"SELECT topic, sum(n) FROM read_parquet('{out}/windows.parquet') GROUP BY 1"
    ).fetchall()
    scores = con.execute(
        f"SELECT topic, count(*) FROM read_parquet('{out}/scores.parquet') GROUP BY 1"
    ).fetchall()
    assert sorted(by_topic) == sorted(scores)
    labels = {t for t, _ in scores}
    assert "outlier" in labels and len(labels) == 5  # four topics and the outliers
    assert any("profit" in t or "earnings" in t for t in labels)
    # A model that is not served is named, with how to make it.
    argv[argv.index("news-topics")] = "no-such-topics"
    assert main(argv) == 2
    assert "textlens topics fit --register no-such-topics" in capsys.readouterr().err
