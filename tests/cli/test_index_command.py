"""`textlens index create|refresh|list|drop` as a user runs it: remote against a real server
on loopback, exit codes and messages for the mistakes a user makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

duckdb = pytest.importorskip("duckdb")


def textlens(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "textlens.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_lifecycle_from_the_command_line(tiny_server: Any, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE notes AS SELECT i AS note_id, 'note number ' || i AS body "
            "FROM range(50) t(i)"
        )
    where = ["--db", str(db), "--target", tiny_server.target]
    made = textlens(
        "index", "create", "notes", "--table", "notes", "--id-column", "note_id",
        "--text-column", "body", "--no-progress", *where,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "index notes built: 50 texts embedded" in made.stderr

    listed = textlens("index", "list", "--db", str(db))
    assert listed.returncode == 0 and "up to date" in listed.stdout
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE notes SET body = body || '!' WHERE note_id < 5")
    assert "stale: 5 new or changed, 0 deleted" in textlens("index", "list", "--db", str(db)).stdout

    refreshed = textlens("index", "refresh", "notes", "--no-progress", *where)
    assert refreshed.returncode == 0, refreshed.stderr
    assert "5 texts embedded, 5 vectors removed, 50 in the index" in refreshed.stderr

    again = textlens(
        "index", "create", "notes", "--table", "notes", "--id-column", "note_id",
        "--text-column", "body", "--no-progress", *where,
    )  # fmt: skip
    assert again.returncode == 2 and "exists; refresh it, or pass --replace" in again.stderr
    missing = textlens(
        "index", "create", "other", "--table", "nope", "--id-column", "id",
        "--text-column", "body", *where,
    )  # fmt: skip
    assert missing.returncode == 2 and "no table or view named 'main.nope'" in missing.stderr

    dropped = textlens("index", "drop", "notes", "--db", str(db))
    assert dropped.returncode == 0 and "index notes dropped" in dropped.stderr
    assert "no indexes" in textlens("index", "list", "--db", str(db)).stderr
    gone = textlens("index", "refresh", "notes", *where)
    assert gone.returncode == 2 and "no index named 'notes'" in gone.stderr
    typo = tmp_path / "typo.duckdb"  # a mistyped --db: said so, and no empty file made
    for args in (["list"], ["drop", "notes"], ["refresh", "notes", "--target", "x:1"]):
        mistyped = textlens("index", *args, "--db", str(typo))
        assert mistyped.returncode == 2, mistyped.stderr
        assert f"DuckDB database {typo} does not exist" in mistyped.stderr
    assert not typo.exists()
