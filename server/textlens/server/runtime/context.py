"""What every model of one runtime shares: the cache, the thread count, the CPU lock, the
background work.

The registry keeps one and hands it to the model loader on every load and reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from textlens.server.runtime.cpu_lock import CpuLock
from textlens.server.runtime.deferred import DeferredWork
from textlens.server.runtime.threads import configure_threads, default_cache_dir
from textlens.server.settings import RuntimeSettings


@dataclass
class InferenceContext:
    """What every model of one runtime shares: the cache, the thread count, the CPU lock."""

    cache_dir: Path
    threads: int
    #: Forward passes of all CPU models take turns on it, small rounds first.
    cpu_lock: CpuLock = field(default_factory=CpuLock)
    #: Measure a new machine's engines after the start ("background") or before ("at_load"):
    #: `RuntimeSettings.measure_engines`; a context built by hand (benchmarks) measures at once.
    measure_engines: str = "at_load"
    #: Use the built-in models' engine choices measured before release (`shipped_choices`).
    shipped_choices: bool = True
    #: Free the torch weights of models ONNX Runtime serves (`release_torch_weights`).
    release_torch_weights: bool = True
    #: What runs after the start: the background engine measurements.
    deferred: DeferredWork = field(default_factory=DeferredWork)


def inference_context(settings: RuntimeSettings | None = None) -> InferenceContext:
    """The shared context of one runtime; also sets torch's thread count."""
    settings = settings or RuntimeSettings()
    cache_dir = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
    return InferenceContext(
        cache_dir=cache_dir.expanduser(),
        threads=configure_threads(settings.threads),
        measure_engines=settings.measure_engines,
        shipped_choices=settings.shipped_choices,
        release_torch_weights=settings.release_torch_weights,
    )
