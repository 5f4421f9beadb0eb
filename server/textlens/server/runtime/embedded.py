"""The runtime in-process, without a server: what the DuckDB embedded mode uses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textlens.server.runtime.analyzer import Analyzer
from textlens.server.runtime.batcher import Batcher
from textlens.server.runtime.registry import ModelRegistry, ServedModel
from textlens.server.settings import ModelSpec, RuntimeSettings, ServerSettings, default_models


def load_analyzer(
    specs: Iterable[ModelSpec] | None = None, runtime: RuntimeSettings | None = None
) -> Analyzer:
    """An Analyzer over freshly loaded models (the embedded defaults when `specs` is None),
    with `runtime`'s threads and cache_dir (None: the TEXTLENS_ environment)."""
    return Analyzer(ModelRegistry.load(default_models() if specs is None else specs, runtime))


def load_configured_analyzer(settings: ServerSettings) -> Analyzer:
    """An Analyzer over what `textlens serve` would serve for `settings`: the configured
    models, then each registered model from its first version that loads, so one broken
    registry entry stops only itself in embedded mode too (issue 22, item 7)."""
    from textlens.server.runtime.startup import load_registry

    return Analyzer(load_registry(settings))


def rebatch(served: Iterable[ServedModel], **knobs: Any) -> ModelRegistry:
    """A registry over already loaded models with new batchers (and knobs).

    Loading is the slow part; tests and benchmarks reuse loaded models under
    different batching settings through this.
    """
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
