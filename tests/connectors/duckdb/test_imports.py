"""Remote mode installs into a BI environment: it must work without torch or the runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

BLOCKED = ("torch", "transformers", "tokenizers", "textlens.server")

SCRIPT = """
import importlib.abc, json, sys

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {top} or name.startswith({prefixes}):
            raise ImportError(f"{{name}} is not installed here")
        return None

sys.meta_path.insert(0, Blocked())
import duckdb
from textlens.connectors.duckdb import register

con = duckdb.connect()
with register(con, sys.argv[1]) as tl:
    row = con.execute("SELECT sentiment('great'), len(embed('x')), len(entities(''))").fetchone()
print(json.dumps({{"row": list(row), "mode": tl.mode, "modules": sorted(sys.modules)}}))
"""


def test_remote_mode_needs_no_torch(tiny_server: Any) -> None:
    script = SCRIPT.format(
        top=repr({"torch", "transformers", "tokenizers"}), prefixes=repr(("textlens.server",))
    )
    done = subprocess.run(
        [sys.executable, "-c", script, tiny_server.target],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["mode"] == "remote" and out["row"][1] == 32 and out["row"][2] == 0
    assert not [m for m in out["modules"] if m.startswith(BLOCKED)]
