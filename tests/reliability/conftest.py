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

import os
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import TINY_TASK_MODELS_TOML
from tests.helpers import free_port
from tests.reliability.node_install import node_modules  # noqa: F401 - a fixture

T = TypeVar("T")

#: One model per task, on the CPU (the oracle's float comparisons hold on a GPU host too).
TINY_TOML = TINY_TASK_MODELS_TOML


def env_int(name: str, default: int) -> int:
    """An integer knob of the long variants (TEXTLENS_LOAD_CLIENTS and friends)."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def report(line: str) -> None:
    """Print one figure of the suite; `pytest -s` or `-rA` shows it."""
    print(f"reliability: {line}", flush=True)


def wait_until(
    predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 0.01
) -> T:
    """Poll `predicate` until it returns something truthy; fail naming `what` after `timeout`.

    The suite's only way to wait: progress is observed, never assumed from a sleep.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$")


def scrape(port: int) -> dict[tuple[str, str], float]:
    """A Prometheus /metrics page as {(sample name, model label): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
        text = page.read().decode("utf-8")
    out: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        model = re.search(r'model="([^"]*)"', match.group("labels") or "")
        out[(match.group("name"), model.group(1) if model else "")] = float(match.group("value"))
    return out


@dataclass
class SpawnedServer:
    """A `textlens serve` child, its address and its metrics port."""

    process: Any  # textlens.server.process.ServerProcess
    port: int
    metrics_port: int

    @property
    def target(self) -> str:
        return str(self.process.target)

    def metric(self, name: str, model: str = "") -> float:
        """One sample of the server's own counters, read now (0 when absent)."""
        return scrape(self.metrics_port).get((name, model), 0.0)


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
