"""The client must stay importable in a BI environment: no torch, no server."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "textlens.server")


def _modules_after(statement: str) -> list[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    return list(json.loads(out.stdout.splitlines()[-1]))


def test_importing_the_client_loads_no_heavy_modules() -> None:
    modules = _modules_after(
        "import textlens.client as c\nc.Client, c.AsyncClient\nimport textlens.client.wire"
    )
    assert "textlens.client.sync" in modules and "textlens.client.aio" in modules
    loaded = [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]
    assert loaded == []


def test_errors_and_results_do_not_need_grpc() -> None:
    modules = _modules_after("from textlens.client import errors, results, InvalidInput, Entity")
    assert "grpc" not in modules and "numpy" not in modules
