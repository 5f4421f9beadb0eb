"""Helpers the reliability tests share (import them; conftest.py holds only fixtures)."""

from __future__ import annotations

import os
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


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
