"""`textlens topics fit`: known topics found, report and pictures, deterministic files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.server.topics.helpers import TOPIC_WORDS, known_topic_rows, write_news

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _version_dir(fitted: dict[str, Any]) -> Path:
    return Path(fitted["registry"]) / "news-topics" / "v1"


def test_fit_finds_the_known_topics_with_readable_labels(topics_fitted: dict[str, Any]) -> None:
    report = json.loads((_version_dir(topics_fitted) / "report.json").read_text())
    assert report["topics_found"] == 4
    assert report["rows"] == 600
    labels = report["labels"]
    assert labels[-1] == "outlier" and len(set(labels)) == 5
    # Each true topic is one fitted topic: names carry that topic's words, sizes add up.
    by_label = {t["label"]: t for t in report["topics"]}
    matched = set()
    for truth, words in TOPIC_WORDS.items():
        hits = [lab for lab in labels[:-1] if words & set(lab.split(" · "))]
        assert len(hits) == 1, f"{truth}: labels {labels}"
        matched.add(hits[0])
        topic = by_label[hits[0]]
        assert len(topic["representative_texts"]) == 3
        assert len(topic["keywords"]) >= 3
    assert len(matched) == 4
    assert sum(t["size"] for t in report["topics"]) == 600
    assert report["outlier_share"] < 0.15
    assert report["silhouette_cosine"] is not None and report["silhouette_cosine"] > 0.05
    assert -1 <= report["coherence_npmi"] <= 1
    for picture in ("topic_map.png", "topic_sizes.png"):
        data = (_version_dir(topics_fitted) / picture).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_same_rows_in_another_order_another_process_and_seed_give_the_same_model(
    topics_fitted: dict[str, Any], tmp_path: Path
) -> None:
    import subprocess
    import sys

    db = tmp_path / "shuffled.duckdb"
    write_news(db, list(reversed(known_topic_rows(600))))
    argv = [a if a != str(topics_fitted["db"]) else str(db) for a in topics_fitted["argv"]]
    argv[argv.index("--registry") + 1] = str(tmp_path / "registry")
    # Another process, as a cron job would be: nothing may depend on the process.
    done = subprocess.run(
        [sys.executable, "-m", "textlens.cli", *argv], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = _version_dir(topics_fitted), tmp_path / "registry" / "news-topics" / "v1"
    for name in ("delta.safetensors", "textlens_model.json"):
        if name == "textlens_model.json":  # the command line names the other database
            a = json.loads((first / name).read_text())
            b = json.loads((second / name).read_text())
            a["training"].pop("command"), b["training"].pop("command")
            a["training"]["data"].pop("source"), b["training"]["data"].pop("source")
            assert a == b
        else:
            assert (first / name).read_bytes() == (second / name).read_bytes()


def test_report_sizes_are_what_classify_returns(topics_fitted: dict[str, Any]) -> None:
    import duckdb

    from textlens.connectors.duckdb import register

    config = Path(topics_fitted["root"]) / "embedded.toml"
    config.write_text(f'[server]\nregistry = "{topics_fitted["registry"]}"\n')
    report = json.loads((_version_dir(topics_fitted) / "report.json").read_text())
    con = duckdb.connect(str(topics_fitted["db"]), read_only=True)
    with register(con, mode="embedded", config=config):
        got = dict(
            con.execute(
                "SELECT classify(body, 'news-topics'), count(*) FROM news GROUP BY 1"
            ).fetchall()
        )
        truth = con.execute(
            "SELECT truth, classify(body, 'news-topics') AS t, count(*) FROM news GROUP BY ALL"
        ).fetchall()
    assert got == {t["label"]: t["size"] for t in report["topics"] if t["size"]}
    # Purity: each true topic lands in one fitted topic (outliers aside).
    for name in TOPIC_WORDS:
        counts = Counter(
            {t: n for truth_name, t, n in truth if truth_name == name and t != "outlier"}
        )
        top = counts.most_common(1)[0][1]
        assert top / sum(counts.values()) >= 0.95, (name, counts)


def test_bad_input_is_refused_before_fitting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from textlens.cli import main

    db = tmp_path / "w.duckdb"
    write_news(db, known_topic_rows(2))
    base = ["topics", "fit", "--db", str(db), "--registry", str(tmp_path / "reg")]
    cases = [
        (["--query", "SELECT body AS text FROM news", "--register", "t"], "topics need more"),
        (["--query", "SELECT body FROM news", "--register", "t"], "no column 'text'"),
        (["--query", "SELECT id AS text FROM news", "--register", "t"], "holds int values"),
        (["--query", "SELECT body AS text FROM news", "--register", "bad name"], "not valid"),
        (["--query", "SELECT body AS text FROM news"], "--register NAME or --out DIR"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "reg" / "t").exists()


def test_masks_apply_at_fit_and_when_served(topics_fitted: dict[str, Any], tmp_path: Path) -> None:
    import duckdb

    from tests.server.topics.helpers import COMPANIES
    from textlens.cli import main
    from textlens.connectors.duckdb import register

    argv = list(topics_fitted["argv"])
    argv[argv.index("--registry") + 1] = str(tmp_path / "registry")
    assert main([*argv, "--mask", f"\\b({'|'.join(COMPANIES)})\\b=>the company"]) == 0
    version = tmp_path / "registry" / "news-topics" / "v1"
    meta = json.loads((version / "textlens_model.json").read_text())
    assert meta["training"]["masks"] == [[f"\\b({'|'.join(COMPANIES)})\\b", "the company"]]
    report = json.loads((version / "report.json").read_text())
    words = {w for lab in report["labels"] for w in lab.split(" · ")}
    assert not words & {c.lower() for c in COMPANIES}
    config = tmp_path / "embedded.toml"
    config.write_text(f'[server]\nregistry = "{tmp_path / "registry"}"\n')
    con = duckdb.connect(str(topics_fitted["db"]), read_only=True)
    with register(con, mode="embedded", config=config):
        served = dict(
            con.execute(
                "SELECT classify(body, 'news-topics'), count(*) FROM news GROUP BY 1"
            ).fetchall()
        )
    # The served model masks too: the same assignments as the fit (raw texts would drift).
    # Served labels are the nearest centroid, the fit's are HDBSCAN's: they part at the
    # boundaries, by up to 3 rows per topic on an AVX-512 machine and 7 of ~700 rows on an
    # AVX2-only one (the fit's UMAP/HDBSCAN numbers differ by CPU): at most 2% of the rows
    # may move.
    sizes = {topic["label"]: topic["size"] for topic in report["topics"]}
    moved = sum(abs(served.get(label, 0) - size) for label, size in sizes.items()) / 2
    assert moved <= max(3, 0.02 * sum(sizes.values())), (served, sizes)
