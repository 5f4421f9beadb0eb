"""Small helpers several test folders share (import them; never import another test module)."""

from __future__ import annotations

import re
import socket
import urllib.request
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textlens.server.runtime.registry import ModelRegistry, ServedModel


def free_port() -> int:
    """A loopback port nothing listens on right now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    """The samples of the Prometheus text at 127.0.0.1:`port`/metrics, by name{labels}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$", line)
        if match:
            samples[match.group(1)] = float(match.group(2))
    return samples


def value(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for key, v in samples.items():
        metric, _, rest = key.partition("{")
        if metric != name:
            continue
        if all(f'{k}="{val}"' in rest for k, val in labels.items()):
            total += v
    return total


def rebatch(served: Iterable[ServedModel], **knobs: Any) -> ModelRegistry:
    """A registry over already loaded models with new batchers (and spec knobs).

    Loading is the slow part; tests reuse loaded models under different batching
    settings through this (the registry it returns cannot load more models).
    """
    from textlens.server.runtime.batcher import Batcher
    from textlens.server.runtime.registry import ModelRegistry, ServedModel

    fresh = []
    for model in served:
        spec = model.spec.model_copy(update=knobs)
        batcher = Batcher(
            model.model,
            max_batch_tokens=spec.max_batch_tokens,
            max_wait_ms=spec.max_wait_ms,
            max_queue_texts=spec.max_queue_texts,
        )
        fresh.append(ServedModel(spec, model.model, batcher, model.load_seconds))
    return ModelRegistry(fresh)
