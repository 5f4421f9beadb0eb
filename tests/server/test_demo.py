"""`make demo`'s gRPC half: a real server, the Python client, the printed tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the demo runs the models (the `models` extra)")


def test_demo_grpc_part() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "textlens.server.demo", "--skip-sql"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "sentiment-minilm" in out and "[negative, neutral, positive]" in out
    row = next(line for line in out.splitlines() if line.startswith("Siemens will report"))
    assert " neutral " in row
    tesla = [line for line in out.splitlines() if line.startswith("Tesla shares jump")]
    assert [line.split()[-2] for line in tesla] == ["positive", "negative"]
    assert "not mentioned (NULL)" in out and "server stopped cleanly (exit code 0)" in out


def test_the_demo_ends_with_commands_that_work_when_pasted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `make demo` the textlens command is in .venv/bin, usually not on the PATH:
    the last lines say how to put it there, and what they say works in a shell."""
    import subprocess

    from textlens.server.demo import next_steps

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    text = next_steps(tmp_path / "reviews.duckdb")
    lines = [line.strip() for line in text.strip().splitlines()]
    how, query = lines[1], lines[2]
    assert query.startswith('textlens sql "SELECT product, sentiment(review)')
    assert str(tmp_path / "reviews.duckdb") in query
    found = subprocess.run(
        ["bash", "-c", f"{how} && command -v textlens"],
        capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).parent == Path(sys.executable).parent
