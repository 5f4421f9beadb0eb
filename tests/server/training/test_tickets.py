"""The demo support-ticket table, and (slow) the fine-tune on it that the README shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb")

from textlens.samples.tickets import TOPICS, make_tickets, write_tickets  # noqa: E402


def test_tickets_are_deterministic_varied_and_partly_unlabelled(tmp_path: Path) -> None:
    assert make_tickets(50, seed=3) == make_tickets(50, seed=3)
    db = tmp_path / "w.duckdb"
    assert write_tickets(db, rows=1000) == 1000
    con = duckdb.connect(str(db), read_only=True)
    counts = dict(con.execute("SELECT topic, count(*) FROM tickets GROUP BY 1").fetchall())
    distinct = con.execute("SELECT count(DISTINCT ticket_text) FROM tickets").fetchone()
    con.close()
    assert set(counts) == {*TOPICS, None} and 50 < counts[None] < 150
    assert distinct is not None and distinct[0] > 950


@pytest.mark.slow
def test_topic_model_from_sql_reaches_90_macro_f1(tmp_path: Path) -> None:
    """Acceptance: a few thousand rows, 1 epoch, on CPU in minutes, >= 0.90 macro-F1."""
    pytest.importorskip("torch")
    from textlens.cli import main

    db = tmp_path / "warehouse.duckdb"
    write_tickets(db, rows=3000)
    query = "SELECT ticket_text AS text, topic AS label FROM tickets WHERE labelled"
    out = tmp_path / "model"
    argv = ["train", "--db", str(db), "--query", query, "--out", str(out)]
    assert main([*argv, "--epochs", "1", "--max-length", "64"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["validation"]["macro_f1"] >= 0.90
