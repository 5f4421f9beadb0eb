"""Measuring a model's candidate engines: built, gated against float32 torch, timed.

Every candidate runs the probe set once for the parity gate, then all engines
are timed again in interleaved rounds and each keeps its fastest pass. One
timed pass each let a burst of other work on the machine decide: a contended
reference read 82 rows/s, against 324 a minute later, and picked a slower
engine. Interleaving spreads such a burst over all engines instead of one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from textlens.contract.errors import ModelLoadError
from textlens.server.inference.candidates import REFERENCE, Candidate, Int8Recipe
from textlens.server.inference.onnx_engine import OnnxEngine
from textlens.server.inference.onnx_export import export_dir, fp32_file, int8_file
from textlens.server.inference.parity import Parity, compare
from textlens.server.inference.probing import Probe, ProbeRun
from textlens.server.runtime.context import InferenceContext
from textlens.server.runtime.deferred import Stopped
from textlens.server.runtime.engine import Engine, TorchEngine
from textlens.server.runtime.hardware import cpu_info
from textlens.server.runtime.tasks import TaskModel

log = logging.getLogger(__name__)

#: A candidate must beat float32 torch by this factor to be worth a lower precision.
MIN_GAIN = 1.05
#: Timed rounds over all engines after the gate's pass (each engine keeps its fastest).
ROUNDS = 2


@dataclass
class Trial:
    candidate: Candidate
    rows_per_s: float | None = None
    tokens_per_s: float | None = None
    build_seconds: float = 0.0
    parity: Parity | None = None
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and (self.parity is None or self.parity.passed)

    def as_dict(self) -> dict[str, Any]:
        c = self.candidate
        return {
            "backend": c.backend,
            "dtype": c.dtype,
            "recipe": c.recipe.name if c.recipe else None,
            "rows_per_s": self.rows_per_s,
            "tokens_per_s": self.tokens_per_s,
            "build_seconds": round(self.build_seconds, 3),
            "parity": self.parity.as_dict() if self.parity else None,
            "error": self.error,
            "passed": self.passed,
        }


def build_engine(model: TaskModel, candidate: Candidate, context: InferenceContext) -> Engine:
    loaded = model.loaded
    if candidate.backend == "torch":
        dtype = getattr(torch, candidate.dtype)
        return TorchEngine(loaded.network, torch.device("cpu"), dtype, context.cpu_lock)
    directory = export_dir(context.cache_dir, loaded.task, loaded.version)
    path = fp32_file(loaded.network, directory)
    variant = candidate.recipe.name if candidate.recipe else ""
    if candidate.backend == "openvino":
        from textlens.server.inference.openvino_engine import OpenVinoEngine, openvino_int8_file

        if candidate.dtype == "int8":
            float_ffn_down = candidate.recipe is not None and candidate.recipe.float_ffn_down
            path = openvino_int8_file(path, model, float_ffn_down)
        native_bf16 = cpu_info().native_bf16
        return OpenVinoEngine(
            path, candidate.dtype, context.threads, context.cpu_lock, variant, native_bf16
        )
    per_row = False
    if candidate.dtype == "int8":
        recipe = candidate.recipe or Int8Recipe(per_channel=True, reduce_range=False)
        path = int8_file(path, recipe, model)
        per_row = recipe.per_row
    return OnnxEngine(
        path, candidate.dtype, context.threads, context.cpu_lock, variant, per_row=per_row
    )


@dataclass
class Measured:
    """The engine that won, every trial, and why, in words."""

    best: Trial
    trials: list[Trial]
    engine: Engine
    reason: str
    probe_texts: int


def measure(
    model: TaskModel,
    candidates: list[Candidate],
    notes: list[str],
    asked: tuple[str, str],
    context: InferenceContext,
    stopping: Callable[[], bool] | None = None,
) -> Measured:
    """Gate and time `candidates` against float32 torch; raise when none may serve."""
    backend, dtype = asked
    probe = Probe(model)
    reference_engine = build_engine(model, REFERENCE, context)
    reference = probe.run(reference_engine, stopping=stopping)
    ref = Trial(REFERENCE)
    trials, engines = [ref], {REFERENCE: reference_engine}
    runs: dict[Candidate, ProbeRun] = {REFERENCE: reference}
    for candidate in candidates:
        if candidate.is_reference:
            continue
        trial = Trial(candidate)
        started = time.perf_counter()
        try:
            engine = build_engine(model, candidate, context)
            trial.build_seconds = time.perf_counter() - started
            run = probe.run(engine, stopping=stopping)
        except Stopped:
            raise
        except Exception as exc:
            trial.error = f"{type(exc).__name__}: {exc}"
            log.info("%s: candidate %s failed: %s", model.name, candidate.name, trial.error)
        else:
            trial.parity = compare(probe.kind, candidate.dtype, reference.outputs, run.outputs)
            engines[candidate], runs[candidate] = engine, run
        trials.append(trial)
    seconds = {c: run.seconds for c, run in runs.items()}
    for _ in range(ROUNDS - 1):
        for candidate, engine in engines.items():
            again = probe.run(engine, stopping=stopping)
            seconds[candidate] = min(seconds[candidate], again.seconds)
    for trial in trials:
        took = seconds.get(trial.candidate)
        if took is not None:
            trial.rows_per_s = len(probe.inputs) / took if took > 0 else float("inf")
            trial.tokens_per_s = probe.tokens / took if took > 0 else float("inf")
    allowed = [t for t in trials if t.candidate in candidates and t.passed]
    if not allowed:
        failures = "; ".join(
            f"{t.candidate.name}: {t.error or (t.parity.describe() if t.parity else '?')}"
            for t in trials
            if t.candidate in candidates
        )
        raise ModelLoadError(
            f"model {model.name}: backend={backend} dtype={dtype} failed the parity gate against "
            f"float32 on the probe set ({failures}); use dtype = 'auto' (picks what passes) "
            "or 'float32'"
        )
    best = max(allowed, key=lambda t: t.rows_per_s or 0.0)
    if REFERENCE in candidates and (best.rows_per_s or 0) < (ref.rows_per_s or 0) * MIN_GAIN:
        best = ref
    reason = _reason(best, trials, ref, notes, backend, dtype)
    return Measured(best, trials, engines[best.candidate], reason, len(probe.inputs))


def _reason(
    best: Trial, trials: list[Trial], ref: Trial, notes: list[str], backend: str, dtype: str
) -> str:
    base = ref.rows_per_s or 1.0
    asked = f"backend={backend} dtype={dtype}"
    head = f"{asked}: {best.candidate.name} measured {(best.rows_per_s or 0) / base:.2f}x torch/float32"
    if best.parity is not None:
        head += f", {best.parity.metric} {best.parity.value:.4f}"
    others = []
    for t in trials:
        if t is best or t is ref:
            continue
        if t.error:
            others.append(f"{t.candidate.name} failed to build")
        elif t.parity is not None and not t.parity.passed:
            others.append(f"{t.candidate.name} failed the gate ({t.parity.describe()})")
        else:
            others.append(f"{t.candidate.name} {(t.rows_per_s or 0) / base:.2f}x")
    tail = "; ".join(others + notes)
    return f"{head}" + (f"; {tail}" if tail else "")
