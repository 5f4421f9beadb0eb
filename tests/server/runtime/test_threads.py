"""Threads: as many as the process may use, shared fairly, none left spinning after a query."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from textlens.server.assembly import load_models
from textlens.server.runtime.hardware import usable_cores
from textlens.server.runtime.threads import configure_threads
from textlens.server.settings import ModelSpec, RuntimeSettings

pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime (models extra)")


def test_threads_follow_the_usable_cores_or_the_setting() -> None:
    before = torch.get_num_threads()
    try:
        assert configure_threads(0) == usable_cores() == torch.get_num_threads()
        assert configure_threads(1) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_engines_share_one_cpu_lock_and_leave_no_thread_spinning(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    specs = [
        ModelSpec(name="o", task="sentiment", source=str(tiny_models_dir["tiny-sequence"]), backend="onnx", dtype="float32", device="cpu"),
        ModelSpec(name="t", task="ner", source=str(tiny_models_dir["tiny-token"]), backend="torch", dtype="float32", device="cpu"),
    ]  # fmt: skip
    registry = load_models(specs, RuntimeSettings(cache_dir=tmp_path))
    try:
        engines = [m.model.loaded.run for m in registry.models.values()]
        assert all(getattr(e, "_lock", None) is registry.context.cpu_lock for e in engines)
        texts = [f"the movie number {i} was great in paris" for i in range(512)]
        for served in registry.models.values():
            served.batcher.submit(texts, "truncate").result(timeout=120)
        # Spinning pools would burn ~1 core each, in every window; the batcher threads
        # sleep on a queue. Pools may take a moment to park after the last pass, so the
        # process is measured in 1 s windows until one is idle (never, if a pool spins).
        busy, deadline = 1.0, time.monotonic() + 10.0
        while busy >= 0.15 and time.monotonic() < deadline:
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            time.sleep(1.0)  # the measuring window itself, not a wait for another thread
            busy = (time.process_time() - cpu_before) / (time.perf_counter() - wall_before)
        assert busy < 0.15, f"the process used {busy:.0%} of a core while idle"
    finally:
        registry.close()
