"""Choosing a model's engine: candidates → parity gate → measurement → one engine, and why.

Under `auto` every candidate this machine allows is built, checked against
float32 torch on the probe set and timed on it; the fastest that passes
serves (float32 torch unless another is at least `MIN_GAIN` faster, so noise
never buys a lower precision). An explicit dtype must pass the gate or the
load fails saying why. The outcome is cached per (model version, machine,
libraries, threads): later starts skip the measurement and, for ONNX, the export.

A first start has no cached choice. If the model ships one measured under the
very same key (`shipped_choices`), it serves that at once. Otherwise, under
`measure_engines = "background"` (the default), the model serves on float32
torch (the gate's reference, so nothing waits for a gate) and the measurement
runs on the runtime's background work once every model is loaded
(`runtime.deferred`), swapping the engine in when it is done: the first start
answers in seconds, and answers change only within the gates when it swaps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from textlens.server.inference.candidates import REFERENCE, Candidate, cpu_candidates
from textlens.server.inference.measurement import build_engine, measure
from textlens.server.inference.onnx_export import library_versions
from textlens.server.inference.probe_set import PROBE_VERSION
from textlens.server.inference.shipped_choices import shipped_choice
from textlens.server.inference.validation_gate import ruled_out
from textlens.server.runtime.context import InferenceContext
from textlens.server.runtime.engine import Engine, Selection
from textlens.server.runtime.hardware import cpu_info
from textlens.server.runtime.tasks import TaskModel

log = logging.getLogger(__name__)

#: 2: int8 runs row by row (engines.OnnxEngine), so earlier int8 timings are stale.
#: 3: engines timed in interleaved rounds (measurement.ROUNDS), best of each.
#: 4: static int8 (ONNX Runtime) and OpenVINO (float32, bfloat16, NNCF int8) candidates.
SELECTION_FORMAT = 4


_WHEN = {"cached": "at an earlier start", "shipped": "on this CPU kind before release"}


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


def _read_choice(data: dict[str, Any], candidates: list[Candidate]) -> Candidate | None:
    if _measured_over_a_damaged_export(data):
        log.info("engine choice of %s was measured over a damaged ONNX export", data.get("model"))
        return None
    for c in candidates:
        recipe = c.recipe.name if c.recipe else None
        if (c.backend, c.dtype, recipe) == (
            data.get("backend"),
            data.get("dtype"),
            data.get("recipe"),
        ):
            return c
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
    model: TaskModel, backend: str, dtype: str, context: InferenceContext, note: str = ""
) -> tuple[Engine, Selection]:
    """The engine `backend`/`dtype` resolve to for `model` on this CPU (`note` heads the
    reason). With nothing measured for this machine yet and float32 torch among the
    candidates, that engine serves at once and the rest are measured in the background."""
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
        return engine, Selection("torch", "float32", "", note + reason)
    choice_path = _choice_file(model, backend, dtype, context)
    for data, where in _known_choices(model, choice_path, context.shipped_choices):
        hit = _read_choice(data, candidates)
        if hit is None:
            continue
        slow = hit.recipe is not None and hit.recipe.static  # calibrates on the probe set
        if slow and not _built(model, hit, context) and _may_defer(context, candidates):
            return _build_later(model, hit, data, where, context, choice_path, note)
        try:
            engine = build_engine(model, hit, context)
        except Exception as exc:  # a cleaned cache: measure again
            log.info("%s choice %s could not be rebuilt (%s); measuring", where, hit.name, exc)
            continue
        if where != "cached":
            _write_choice(choice_path, data)
        return engine, _known_selection(hit, data, where, note, choice_path)
    if context.measure_engines == "background" and REFERENCE in candidates:
        return _measure_later(
            model, candidates, notes, (backend, dtype), context, choice_path, note
        )
    engine, selection = _measure(model, candidates, notes, backend, dtype, context, choice_path)
    selection.reason = note + selection.reason
    return engine, selection


def _known_selection(
    hit: Candidate, data: dict[str, Any], where: str, note: str, choice_path: Path
) -> Selection:
    """The Selection of a choice measured earlier (`where`: cached or shipped)."""
    return Selection(
        hit.backend,
        hit.dtype,
        data.get("recipe") or "",
        f"{note}{data['reason']} (measured {_WHEN[where]}; {choice_path.name})",
        data.get("trials", []),
        cached=True,
    )


def _may_defer(context: InferenceContext, candidates: list[Candidate]) -> bool:
    return context.measure_engines == "background" and REFERENCE in candidates


def _built(model: TaskModel, candidate: Candidate, context: InferenceContext) -> bool:
    """Whether `candidate`'s calibrated int8 file is already in the cache."""
    from textlens.server.inference.onnx_export import export_dir

    loaded = model.loaded
    directory = export_dir(context.cache_dir, loaded.task, loaded.version)
    recipe = candidate.recipe.name if candidate.recipe else ""
    pattern = "openvino-int8*.xml" if candidate.backend == "openvino" else f"int8-{recipe}-*.onnx"
    suffix = "-float-ffn-down" in recipe
    return any(("-float-ffn-down" in p.name) == suffix for p in directory.glob(pattern))


def _build_later(
    model: TaskModel,
    hit: Candidate,
    data: dict[str, Any],
    where: str,
    context: InferenceContext,
    choice_path: Path,
    note: str,
) -> tuple[Engine, Selection]:
    """A known choice whose int8 graph must first be calibrated (seconds per model): float32
    torch serves meanwhile, and the engine is built in the background, then switched in."""
    loaded = model.loaded
    waiting = Selection(
        "torch",
        "float32",
        "",
        f"{note}torch/float32 for now: building {hit.name} (the choice {where} for this "
        "machine) in the background",
    )

    def build(stopping: Callable[[], bool]) -> None:
        if stopping():
            return
        engine = build_engine(model, hit, context)
        _write_choice(choice_path, data)
        selection = _known_selection(hit, data, where, note, choice_path)
        freed = loaded.serve_on(engine, selection, context.release_torch_weights)
        log.info("model %s now runs on %s (built in the background)", model.name, hit.name)
        if freed:
            log.info("model %s: torch weights released (%.0f MB)", model.name, freed / 2**20)

    log.info("model %s: serving torch/float32 while %s is built", model.name, hit.name)
    context.deferred.submit(f"building {model.name}'s {hit.name} engine", build)
    return build_engine(model, REFERENCE, context), waiting


def _known_choices(
    model: TaskModel, choice_path: Path, shipped: bool
) -> list[tuple[dict[str, Any], str]]:
    """This machine's cached choice, then (`shipped`) the one the model ships for its key."""
    found = []
    try:
        cached = json.loads(choice_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = None
    if isinstance(cached, dict):
        found.append((cached, "cached"))
    record = shipped_choice(model.loaded.source, choice_path.stem.rsplit("-", 1)[-1])
    if shipped and record is not None:
        found.append((record, "shipped"))
    return found


def _measure_later(
    model: TaskModel,
    candidates: list[Candidate],
    notes: list[str],
    asked: tuple[str, str],
    context: InferenceContext,
    choice_path: Path,
    note: str,
) -> tuple[Engine, Selection]:
    """Float32 torch now (the gate's own reference: it passes by definition); the
    measurement queued on the runtime's background work, switching the engine when done."""
    loaded = model.loaded
    names = ", ".join(c.name for c in candidates if not c.is_reference)
    waiting = Selection(
        "torch",
        "float32",
        "",
        f"{note}torch/float32 for now: first start on this machine, measuring {names} in the "
        "background (textlens models shows the choice once made)",
    )

    def measure(stopping: Callable[[], bool]) -> None:
        started = time.perf_counter()
        log.info("%s: measuring %s against torch/float32 in the background", model.name, names)
        engine, selection = _measure(
            model, candidates, notes, *asked, context, choice_path, stopping
        )
        took = time.perf_counter() - started
        selection.reason = f"{note}{selection.reason} (measured in the background in {took:.1f}s)"
        freed = loaded.serve_on(engine, selection, context.release_torch_weights)
        log.info(
            "model %s now runs on %s/%s: %s%s",
            model.name,
            selection.backend,
            selection.dtype,
            selection.reason,
            f" (torch weights released: {freed / 2**20:.0f} MB)" if freed else "",
        )

    log.info(
        "model %s: first start on this machine, serving torch/float32 now and measuring %s "
        "once every model is loaded",
        model.name,
        names,
    )
    context.deferred.submit(f"measuring {model.name}'s engines", measure)
    return build_engine(model, REFERENCE, context), waiting


def _measure(
    model: TaskModel,
    candidates: list[Candidate],
    notes: list[str],
    backend: str,
    dtype: str,
    context: InferenceContext,
    choice_path: Path,
    stopping: Callable[[], bool] | None = None,
) -> tuple[Engine, Selection]:
    done = measure(model, candidates, notes, (backend, dtype), context, stopping)
    best = done.best.candidate
    recipe = best.recipe.name if best.recipe else None
    record_trials = [t.as_dict() for t in done.trials]
    record = {
        "model": model.name,
        "version": model.loaded.version,
        "backend": best.backend,
        "dtype": best.dtype,
        "recipe": recipe,
        "reason": done.reason,
        "cpu_model": cpu_info().model,
        "cpu_flags": cpu_info().shown_flags(),
        "threads": context.threads,
        "probe_texts": done.probe_texts,
        "trials": record_trials,
    }
    _write_choice(choice_path, record)
    selection = Selection(best.backend, best.dtype, recipe or "", done.reason, record_trials)
    return done.engine, selection
