"""Small helpers several test folders share (import them; never import another test module)."""

from __future__ import annotations

import re
import socket
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

#: The checkout this test suite belongs to.
REPO_ROOT = Path(__file__).resolve().parents[1]
#: `../shared/data` beside the checkout (see ../shared/README.md); CI always has it.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

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


#: How far one text's scores may move with the batch it shares (padding, companions):
#: float32 only rounds; bf16 rounds at 8 bits; int8 quantizes activations per batch.
BATCH_TOLERANCE = {"float32": 1e-4, "float16": 2e-2, "bfloat16": 2e-2, "int8": 6e-2}


def batch_tolerance(served: Any) -> float:
    """The score tolerance for comparing one served model's answers across batches."""
    return BATCH_TOLERANCE[served.info().dtype]


def same_batch_tolerance(served: Any) -> float:
    """The tolerance for the same texts in the same batch computed twice: on the CPU the
    same kernels give the same bits (1e-5 allows for float32 printing); CUDA kernels may
    sum in another order per launch, so there the model's batch tolerance applies."""
    return 1e-5 if served.info().device.startswith("cpu") else batch_tolerance(served)


#: What the tiny `topics` classifiers are trained on; also the texts the reload tests ask about.
TOPIC_TEXTS = ["the game was good", "bank prices fell", "paris is a city", "a team won the cup"]


def publish_tiny_topics(registry: Path, base: Path, labels: tuple[str, str]) -> str:
    """Train a tiny classifier over `base` on TOPIC_TEXTS with two `labels`, and make
    it the registry's next `topics` version; returns the version ("v1", "v2", ...).

    Disjoint label sets per version make the version that answered visible in
    every result (the reload and version re-read tests rely on it).
    """
    from textlens.server.model_store import ModelStore
    from textlens.server.training.trainer import TrainConfig, train_text_classifier

    rows = [(f"{t} {i}", labels[i % 2]) for i, t in enumerate(TOPIC_TEXTS * 4)]
    cfg = TrainConfig(base=str(base), epochs=1, batch_size=8, max_length=16, evals_per_epoch=1)
    store = ModelStore(registry)
    with store.staging() as staged:
        train_text_classifier(rows, rows, "classify", staged, cfg)
        return store.publish("topics", staged)


def publish_broken_version(registry: Path, name: str, copy_of: Path) -> str:
    """Publish a copy of the model directory `copy_of` as `name`'s next version with its
    delta cut in half (as an interrupted copy leaves it) and make it current; returns
    the version ("v1", "v2", ...)."""
    import shutil

    from textlens.server.model_store import CURRENT_FILE

    numbers = [int(p.name[1:]) for p in registry.joinpath(name).glob("v*") if p.name[1:].isdigit()]
    version = f"v{max(numbers, default=0) + 1}"
    shutil.copytree(copy_of, registry / name / version)
    delta = registry / name / version / "delta.safetensors"
    delta.write_bytes(delta.read_bytes()[: delta.stat().st_size // 2])
    (registry / name / CURRENT_FILE).write_text(f"{version}\n")
    return version


def say(config: pytest.Config, line: str) -> None:
    """A line in pytest's own output, also without -s (measurements worth seeing in CI)."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


#: Short, medium and long rows in one batch: an engine whose answers moved with the
#: batch would move the short ones (tests/server/inference).
ENGINE_TEXTS = [
    "ok",
    "the movie was great",
    "john smith went to berlin and met the mayor of a small town near the river",
    "terrible service in paris " * 12,
]
#: The tiny model of each task kind (`tiny_models_dir` in tests/conftest.py).
TINY_TASKS = [("tiny-sequence", "sentiment"), ("tiny-token", "ner"), ("tiny-encoder", "embed")]


def tiny_task_model(tiny_models_dir: dict[str, Path], name: str, task: str) -> Any:
    """A float32 CPU task model over one of the tiny models (max length 128)."""
    import torch

    from textlens.server.runtime.loading import load_model
    from textlens.server.runtime.tasks import TASK_MODELS

    loaded = load_model(str(tiny_models_dir[name]), task, torch.device("cpu"), torch.float32, 128)
    return TASK_MODELS[task]("m", loaded)


def batched_and_alone(model: Any, engine: Any, texts: list[str]) -> list[tuple[Any, Any]]:
    """Per text: (its row of one padded batch, cut to its own tokens; the same text run
    alone). An engine whose answer is a function of the text gives the same twice."""
    encoded = model.encode(texts, "truncate")
    ids, mask, casing = model.pad(encoded)
    batched = engine(ids, mask, casing)
    out = []
    for r, e in enumerate(encoded):
        n = e.length
        alone = engine(
            ids[r : r + 1, :n],
            mask[r : r + 1, :n],
            None if casing is None else casing[r : r + 1, :n],
        )
        out.append((batched[r, :n] if batched.ndim == 3 else batched[r], alone[0]))
    return out
