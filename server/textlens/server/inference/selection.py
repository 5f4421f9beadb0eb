"""Choosing a model's engine: candidates → parity gate → measurement → one engine, and why.

Under `auto` every candidate this machine allows is built, checked against
float32 torch on the probe set and timed on it; the fastest that passes
serves (float32 torch unless another is at least `MIN_GAIN` faster, so noise
never buys a lower precision). An explicit dtype must pass the gate or the
load fails saying why. The outcome is cached per (model version, machine,
libraries, threads): later starts skip the measurement and, for ONNX, the export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from textlens.contract.errors import ModelLoadError
from textlens.server.inference.candidates import REFERENCE, Candidate, Int8Recipe, cpu_candidates
from textlens.server.inference.onnx_engine import OnnxEngine
from textlens.server.inference.onnx_export import (
    export_dir,
    fp32_file,
    int8_file,
    library_versions,
)
from textlens.server.inference.parity import Parity, compare
from textlens.server.inference.probe_set import PROBE_VERSION
from textlens.server.inference.probing import Probe
from textlens.server.inference.validation_gate import ruled_out
from textlens.server.runtime.context import InferenceContext
from textlens.server.runtime.engine import Engine, Selection, TorchEngine
from textlens.server.runtime.hardware import cpu_info
from textlens.server.runtime.tasks import TaskModel

log = logging.getLogger(__name__)

#: A candidate must beat float32 torch by this factor to be worth a lower precision.
MIN_GAIN = 1.05
#: 2: int8 runs row by row (engines.OnnxEngine), so earlier int8 timings are stale.
SELECTION_FORMAT = 2


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
    if candidate.dtype == "int8":
        recipe = candidate.recipe or Int8Recipe(per_channel=True, reduce_range=False)
        path = int8_file(path, recipe)
    variant = candidate.recipe.name if candidate.recipe else ""
    return OnnxEngine(path, candidate.dtype, context.threads, context.cpu_lock, variant)


def _choice_file(model: TaskModel, backend: str, dtype: str, context: InferenceContext) -> Path:
    loaded = model.loaded
    try:
        libs = library_versions()
    except ImportError:
        libs = f"torch{torch.__version__}"
    key = json.dumps(
        [
            loaded.task,
            loaded.version,
            loaded.max_length,
            backend,
            dtype,
            cpu_info().fingerprint(),
            context.threads,
            libs,
            PROBE_VERSION,
            SELECTION_FORMAT,
            sorted(ruled_out(loaded.source, loaded.version)),
        ]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return context.cache_dir / "choices" / f"{model.name}-{digest}.json"


#: What ONNX Runtime says of a cut-short or missing model file. A choice measured while a
#: cached export was damaged (before exports were checksummed and rebuilt) ruled that
#: candidate out for a reason that no longer holds: such a choice is measured again.
DAMAGED_EXPORT = ("INVALID_PROTOBUF", "InvalidProtobuf", "NO_SUCHFILE", "Protobuf parsing failed")


def _measured_over_a_damaged_export(data: dict[str, Any]) -> bool:
    errors = [str(t.get("error") or "") for t in data.get("trials", []) if isinstance(t, dict)]
    return any(marker in error for error in errors for marker in DAMAGED_EXPORT)


def _read_choice(
    path: Path, candidates: list[Candidate]
) -> tuple[Candidate, dict[str, Any]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if _measured_over_a_damaged_export(data):
        log.info("engine choice %s was measured over a damaged ONNX export; measuring again", path)
        return None
    for c in candidates:
        recipe = c.recipe.name if c.recipe else None
        if (c.backend, c.dtype, recipe) == (
            data.get("backend"),
            data.get("dtype"),
            data.get("recipe"),
        ):
            return c, data
    return None


def _write_choice(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache only costs the next start a measurement
        log.warning("could not cache the engine choice in %s: %s", path, exc)


def select_cpu_engine(
    model: TaskModel, backend: str, dtype: str, context: InferenceContext
) -> tuple[Engine, Selection]:
    """The engine `backend`/`dtype` resolve to for `model` on this CPU."""
    candidates, notes = cpu_candidates(backend, dtype, cpu_info())
    excluded = ruled_out(model.loaded.source, model.loaded.version)
    if excluded and (backend == "auto" or dtype == "auto"):
        kept = [c for c in candidates if c.name not in excluded or c.is_reference]
        notes += [why for name, why in excluded.items() if any(c.name == name for c in candidates)]
        candidates = kept or [REFERENCE]
    if candidates == [REFERENCE]:
        why = "as configured" if backend == "torch" and dtype != "auto" else "the only candidate"
        reason = f"torch/float32 {why}" + (f" ({'; '.join(notes)})" if notes else "")
        engine = build_engine(model, REFERENCE, context)
        return engine, Selection("torch", "float32", "", reason)
    choice_path = _choice_file(model, backend, dtype, context)
    hit = _read_choice(choice_path, candidates)
    if hit is not None:
        candidate, data = hit
        try:
            engine = build_engine(model, candidate, context)
        except Exception as exc:  # a cleaned cache: measure again
            log.info(
                "cached choice %s could not be rebuilt (%s); measuring again", candidate.name, exc
            )
        else:
            return engine, Selection(
                candidate.backend,
                candidate.dtype,
                data.get("recipe") or "",
                f"{data['reason']} (measured at an earlier start; {choice_path.name})",
                data.get("trials", []),
                cached=True,
            )
    return _measure(model, candidates, notes, backend, dtype, context, choice_path)


def _measure(
    model: TaskModel,
    candidates: list[Candidate],
    notes: list[str],
    backend: str,
    dtype: str,
    context: InferenceContext,
    choice_path: Path,
) -> tuple[Engine, Selection]:
    probe = Probe(model)
    reference_engine = build_engine(model, REFERENCE, context)
    reference = probe.run(reference_engine)
    ref = Trial(REFERENCE, reference.rows_per_s, reference.tokens / reference.seconds)
    trials, engines = [ref], {REFERENCE: reference_engine}
    for candidate in candidates:
        if candidate.is_reference:
            continue
        trial = Trial(candidate)
        started = time.perf_counter()
        try:
            engine = build_engine(model, candidate, context)
            trial.build_seconds = time.perf_counter() - started
            run = probe.run(engine)
        except Exception as exc:
            trial.error = f"{type(exc).__name__}: {exc}"
            log.info("%s: candidate %s failed: %s", model.name, candidate.name, trial.error)
        else:
            trial.rows_per_s, trial.tokens_per_s = run.rows_per_s, run.tokens / run.seconds
            trial.parity = compare(probe.kind, candidate.dtype, reference.outputs, run.outputs)
            engines[candidate] = engine
        trials.append(trial)
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
    recipe = best.candidate.recipe.name if best.candidate.recipe else None
    record_trials = [t.as_dict() for t in trials]
    record = {
        "model": model.name,
        "version": model.loaded.version,
        "backend": best.candidate.backend,
        "dtype": best.candidate.dtype,
        "recipe": recipe,
        "reason": reason,
        "cpu_flags": cpu_info().shown_flags(),
        "threads": context.threads,
        "probe_texts": len(probe.inputs),
        "trials": record_trials,
    }
    _write_choice(choice_path, record)
    selection = Selection(
        best.candidate.backend, best.candidate.dtype, recipe or "", reason, record_trials
    )
    return engines[best.candidate], selection


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
