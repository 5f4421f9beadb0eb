"""Ctrl-C stops a DuckDB query over Python UDFs at once, with several DuckDB threads.

A child process (so the test runner is never signalled) runs a COPY over a slow
Python UDF that would take ~20 s, and sends itself SIGINT after 0.5 s. Called
directly, DuckDB acts on the signal only when the query has finished; through
`run_interruptibly` the child must stop within seconds and leave no file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("duckdb")

CHILD = r"""
import json, os, signal, sys, threading, time
from pathlib import Path
import duckdb
from textlens.jobs.sql import copy_query

out = Path(sys.argv[1])
con = duckdb.connect(config={"threads": int(sys.argv[2])})
con.create_function("slow", lambda x: (time.sleep(0.05), x)[1], ["VARCHAR"], "VARCHAR",
                    type="arrow")
sent = []
def ctrl_c():
    sent.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGINT)
threading.Timer(0.5, ctrl_c).start()
try:
    copy_query(con, "SELECT slow(i::VARCHAR) AS s FROM range(800000) r(i)", "parquet", out)
    outcome = "completed"
except BaseException as exc:
    outcome = f"{type(exc).__name__}: {exc}"
print(json.dumps({"outcome": outcome, "after_signal_s": time.monotonic() - sent[0],
                  "left": sorted(p.name for p in out.parent.iterdir())}))
"""


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_ctrl_c_stops_a_copy_within_a_second(tmp_path: Path, threads: int) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "out.parquet"), str(threads)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["outcome"] == "KeyboardInterrupt: ", result
    assert result["after_signal_s"] < 2.0, result
    assert result["left"] == [], result
