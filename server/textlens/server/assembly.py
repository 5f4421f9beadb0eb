"""The server put together: the runtime, with the capabilities that plug into it.

The runtime (`textlens.server.runtime`) imports no inference backend and no model kind
beyond its own; this module is where they meet. It passes the inference backends'
`load_task_model` (torch or ONNX Runtime, chosen by measuring) to the registry as its
model loader, and imports `textlens.server.topics`, whose topic network registers its
model kind with the runtime's loader. Everything that serves models (`textlens serve`,
the Ray replicas, the embedded DuckDB mode, benchmarks) builds its registry here.
"""

from __future__ import annotations

from collections.abc import Iterable

import textlens.server.topics.network  # noqa: F401  (registers the `topics` model kind)
from textlens.server.inference.serving import load_task_model
from textlens.server.runtime import startup
from textlens.server.runtime.analyzer import Analyzer
from textlens.server.runtime.registry import ModelRegistry
from textlens.server.settings import ModelSpec, RuntimeSettings, ServerSettings, default_models


def load_models(
    specs: Iterable[ModelSpec], runtime: RuntimeSettings | None = None
) -> ModelRegistry:
    """A registry over `specs`, each on the engine measured best for it here
    (threads and cache_dir from `runtime`, else the TEXTLENS_ environment)."""
    return ModelRegistry.load(specs, runtime, loader=load_task_model)


def load_registry(settings: ServerSettings) -> ModelRegistry:
    """What `textlens serve` serves for `settings`: the configured models, then each
    registered model from its first version that loads (one broken entry stops only
    itself)."""
    return startup.load_registry(settings, load_task_model)


def load_analyzer(
    specs: Iterable[ModelSpec] | None = None, runtime: RuntimeSettings | None = None
) -> Analyzer:
    """An Analyzer over freshly loaded models (the embedded defaults when `specs` is None)."""
    return Analyzer(load_models(default_models() if specs is None else specs, runtime))
