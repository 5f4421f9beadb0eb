"""The client-side commands work on the base install (issue 22, item 14).

The base install is grpcio, protobuf and numpy: no DuckDB, no pyarrow, no
pydantic, no torch. The parser used to import the monitor's CLI, whose package
imported the DuckDB connector, so `textlens --help`, `models` and `reload`
died with `ModuleNotFoundError: pyarrow`. Here the CLI runs in a subprocess
whose import system refuses every optional dependency, as on that install.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

OPTIONAL = (
    "duckdb", "duckdb_engine", "pyarrow", "pandas", "pydantic", "pydantic_settings", "torch",
    "transformers", "tokenizers", "safetensors", "onnx", "onnxruntime", "tqdm",
    "prometheus_client", "sqlalchemy", "ray", "matplotlib", "sklearn", "umap", "hdbscan",
)  # fmt: skip

BASE_INSTALL = f"""
import importlib.abc, sys

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {set(OPTIONAL)!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from textlens.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def textlens(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BASE_INSTALL, *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("argv", [["--help"], ["models", "--help"], ["reload", "--help"]])
def test_help_works_without_duckdb_or_pyarrow(argv: list[str]) -> None:
    done = textlens(*argv)
    assert done.returncode == 0, done.stderr
    assert "usage: textlens" in done.stdout


def test_models_and_reload_talk_to_a_server_on_the_base_install(
    inprocess_server: Any,
) -> None:
    server = inprocess_server(admin_token="op-token")
    listed = textlens("models", "--target", server.target)
    assert listed.returncode == 0, listed.stderr
    assert "sentiment" in listed.stdout
    # The languages each model reads (docs/language.md, "Policy"), for the three it applies to.
    assert listed.stdout.count("reads: en; other languages: not scored (NULL)") == 3, listed.stdout
    reloaded = textlens("reload", "--target", server.target, "--token", "op-token")
    assert "ModuleNotFoundError" not in reloaded.stderr, reloaded.stderr
    assert "No module named" not in reloaded.stderr, reloaded.stderr
