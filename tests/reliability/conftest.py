"""Fixtures of the reliability suite: real servers, explicit waits, printed figures.

Everything here talks to real parts over real sockets. In-process servers come
from the shared `inprocess_server` fixture (tests/conftest.py); the fault tests
need a server they can SIGKILL, so `spawn_server` starts `textlens serve`
child processes (`textlens.server.process.ServerProcess`, the same helper the
shutdown and demo tests use) over the tiny random models: they load in seconds
and compute thousands of rows a second, so a 20k-row query is long enough to
kill mid-flight and short enough to rerun. Each child exports Prometheus
metrics on its own port, which is how a test knows the server is *computing*
before it kills it, instead of sleeping and hoping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port
from tests.reliability.helpers import (
    SpawnedServer,
)
from tests.reliability.node_install import node_modules  # noqa: F401 - a fixture
from tests.tiny_models import TINY_TASK_MODELS_TOML

#: One model per task, on the CPU (the oracle's float comparisons hold on a GPU host too).
TINY_TOML = TINY_TASK_MODELS_TOML


@pytest.fixture(scope="session")
def tiny_serve_config(
    tiny_models_dir: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A `textlens serve --config` TOML over the tiny random models (see TINY_TOML)."""
    path = tmp_path_factory.mktemp("reliability-config") / "tiny.toml"
    path.write_text(
        TINY_TOML.format(
            sequence=tiny_models_dir["tiny-sequence"],
            token=tiny_models_dir["tiny-token"],
            encoder=tiny_models_dir["tiny-encoder"],
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def spawn_server(tiny_serve_config: Path) -> Iterator[Callable[..., SpawnedServer]]:
    """`spawn_server(port=0, env=None)`: a started `textlens serve` child over the tiny models.

    One compute thread each (the machine is shared); every child still running
    at teardown is stopped, killed if it does not stop.
    """
    from textlens.server.process import ServerProcess

    started: list[SpawnedServer] = []

    def spawn(port: int = 0, env: dict[str, str] | None = None) -> SpawnedServer:
        metrics_port = free_port()
        full_env = {
            "OMP_NUM_THREADS": "1",
            "TEXTLENS_THREADS": "1",
            "TEXTLENS_METRICS_PORT": str(metrics_port),
            **(env or {}),
        }
        process = ServerProcess(tiny_serve_config, port=port, env=full_env)
        spawned = SpawnedServer(process, process.port, metrics_port)
        started.append(spawned)
        return spawned

    yield spawn
    for spawned in started:
        spawned.process.stop(timeout=30)
