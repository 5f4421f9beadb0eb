"""`make demo`'s gRPC half: a real server, the Python client, the printed tables."""

from __future__ import annotations

import os
import subprocess
import sys

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
