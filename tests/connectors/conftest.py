"""Fixtures every connector test package shares: the tiny-model config and server.

One session-scoped `textlens serve` child over the tiny models serves the DuckDB,
dialect, monitor and Ray Data tests alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.duckdb.helpers import TINY_TOML


@pytest.fixture(scope="session")
def tiny_config(tiny_models_dir: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `textlens serve --config` TOML serving the tiny models (see TINY_TOML)."""
    path = tmp_path_factory.mktemp("duckdb-config") / "tiny.toml"
    path.write_text(
        TINY_TOML.format(
            sequence=tiny_models_dir["tiny-sequence"],
            token=tiny_models_dir["tiny-token"],
            encoder=tiny_models_dir["tiny-encoder"],
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def tiny_server(tiny_config: Path) -> Iterator[Any]:
    """A real `textlens serve` child process over the tiny models, on a loopback port."""
    from textlens.server.process import ServerProcess

    with ServerProcess(tiny_config, env={"OMP_NUM_THREADS": "1"}) as server:
        yield server
