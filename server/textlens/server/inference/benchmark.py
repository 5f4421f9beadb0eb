"""`textlens bench`: every backend x dtype this machine can run, per model, measured in one run.

For each model: rows/s and tokens/s over the same length-sorted batches of
synthetic reviews, estimated GFLOP/s against this machine's measured matmul
peak, agreement with float32 torch (the parity metric of the task), whether
the gate passes, and cold-start seconds (export/quantize/session from an
empty cache) and warm-start seconds (from the cache). Prints the CPU flags it
ran on, a table, and one JSON document.
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from textlens.server.inference.candidates import REFERENCE, cpu_candidates
from textlens.server.inference.measurement import MIN_GAIN, build_engine
from textlens.server.inference.parity import compare
from textlens.server.inference.probing import Probe
from textlens.server.inference.validation_gate import ruled_out
from textlens.server.runtime.context import InferenceContext
from textlens.server.runtime.hardware import cpu_info
from textlens.server.runtime.loading import load_model
from textlens.server.runtime.tasks import TASK_MODELS, TaskModel
from textlens.server.runtime.threads import configure_threads
from textlens.server.settings import ModelSpec


def matmul_peak(dtype: torch.dtype, n: int = 1024, repeats: int = 5) -> float:
    """GFLOP/s of the best of `repeats` n x n x n matmuls in `dtype` on this CPU."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def onnx_matmul_peak(integer: bool, threads: int, n: int = 1024, repeats: int = 5) -> float:
    """GOP/s of ONNX Runtime's own GEMM (MLAS): float32 MatMul, or u8 x s8 MatMulInteger.

    MLAS can beat torch's BLAS on some CPUs (MKL on AMD), so the peak a path is
    measured against is the best GEMM this machine showed, not one library's.
    """
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    a: np.ndarray
    if integer:
        b = numpy_helper.from_array(rng.integers(-64, 64, (n, n), dtype=np.int8), "B")
        node = helper.make_node("MatMulInteger", ["A", "B"], ["C"])
        a_type, c_type = TensorProto.UINT8, TensorProto.INT32
        a = rng.integers(0, 255, (n, n), dtype=np.uint8)
    else:
        b = numpy_helper.from_array(rng.standard_normal((n, n), dtype=np.float32), "B")
        node = helper.make_node("MatMul", ["A", "B"], ["C"])
        a_type, c_type = TensorProto.FLOAT, TensorProto.FLOAT
        a = rng.standard_normal((n, n), dtype=np.float32)
    graph = helper.make_graph(
        [node],
        "peak",
        [helper.make_tensor_value_info("A", a_type, [n, n])],
        [helper.make_tensor_value_info("C", c_type, [n, n])],
        initializer=[b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    session.run(None, {"A": a})
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        session.run(None, {"A": a})
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def flops_per_token(model: TaskModel, padded_length: float) -> float:
    """Multiply-adds x 2 of the linear layers per token, plus attention's two matmuls."""
    linear = sum(
        m.in_features * m.out_features
        for m in model.loaded.network.modules()
        if isinstance(m, torch.nn.Linear)
    )
    config: Any = model.loaded.network.hf.config
    attention = 4 * padded_length * int(config.hidden_size) * int(config.num_hidden_layers)
    return 2.0 * linear + attention


#: Aspect targets the generated reviews mention.
ASPECTS = ("battery", "price", "quality", "delivery", "support", "app", "design", "cable", "box")


def aspect_pairs(rows: Sequence[str]) -> list[tuple[str, str]]:
    """(review, aspect) for each review that mentions one of `ASPECTS`."""
    pairs = []
    for text in rows:
        found = next((a for a in ASPECTS if a in text.lower()), None)
        if found:
            pairs.append((text, found))
    return pairs


def bench_model(
    spec: ModelSpec, rows: Sequence[str], threads: int, peaks: dict[str, float]
) -> list[dict[str, Any]]:
    started = time.perf_counter()
    loaded = load_model(spec.source, spec.task, torch.device("cpu"), torch.float32, spec.max_length)
    load_seconds = time.perf_counter() - started
    model = TASK_MODELS[spec.task](spec.name, loaded)
    inputs: Sequence[Any] = aspect_pairs(rows) if spec.task == "aspect" else rows
    probe = Probe(model, inputs)
    padded = probe.padded_tokens()
    per_token = flops_per_token(model, padded / max(1, len(probe.encoded)))
    candidates, _ = cpu_candidates("auto", "auto", cpu_info())
    out: list[dict[str, Any]] = []
    reference = None
    gate_probe = Probe(model)  # the packaged probe set: the gate `auto` applies at load
    gate_reference = None
    excluded = ruled_out(spec.source, loaded.version)
    with tempfile.TemporaryDirectory() as tmp:
        context = InferenceContext(cache_dir=Path(tmp), threads=threads)
        for candidate in candidates:
            t0 = time.perf_counter()
            engine = build_engine(model, candidate, context)
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            build_engine(model, candidate, context)  # from the cache now
            warm = time.perf_counter() - t0
            run = probe.run(engine, repeats=2)
            if reference is None:
                reference = run
            parity = compare(probe.kind, candidate.dtype, reference.outputs, run.outputs)
            gate_run = gate_probe.run(engine)
            if gate_reference is None:
                gate_reference = gate_run
            gate = compare(
                gate_probe.kind, candidate.dtype, gate_reference.outputs, gate_run.outputs
            )
            gflops = per_token * padded / run.seconds / 1e9
            peak_key = {"bfloat16": "bfloat16", "float16": "bfloat16", "int8": "int8"}.get(
                candidate.dtype, "float32"
            )
            out.append(
                {
                    "model": spec.name,
                    "task": spec.task,
                    "path": candidate.name,
                    "backend": candidate.backend,
                    "dtype": candidate.dtype,
                    "rows": len(probe.encoded),
                    "rows_per_s": round(run.rows_per_s, 1),
                    "tokens_per_s": round(run.tokens / run.seconds, 1),
                    "gflops": round(gflops, 1),
                    "peak_fraction": round(gflops / peaks[peak_key], 3),
                    "peak_of": peak_key,
                    "speedup": round(run.rows_per_s / reference.rows_per_s, 3),
                    "agreement_metric": parity.metric,
                    "agreement": round(parity.value, 4),
                    "probe_agreement": round(gate.value, 4),
                    "probe_gate_passed": gate.passed or candidate == REFERENCE,
                    "validation_allowed": candidate.name not in excluded,
                    "load_seconds": round(load_seconds, 2),
                    "cold_start_seconds": round(load_seconds + cold, 2),
                    "warm_start_seconds": round(load_seconds + warm, 2),
                }
            )
    _mark_auto(out)
    for row in out:
        print(_row(row), flush=True)
    return out


def _mark_auto(rows: list[dict[str, Any]]) -> None:
    """Which path `auto` takes given these numbers (fastest through both gates, >= 5% gain)."""
    allowed = [r for r in rows if r["probe_gate_passed"] and r["validation_allowed"]]
    best = max(allowed, key=lambda r: r["rows_per_s"])
    if best["speedup"] < MIN_GAIN:
        best = rows[0]
    for r in rows:
        r["auto"] = r is best


HEADER = (
    f"{'model':18} {'path':28} {'rows/s':>7} {'tok/s':>6} {'GOP/s':>6} {'%peak':>5} "
    f"{'x fp32':>6} {'agree':>6} {'probe':>6} {'gates':>6} {'cold s':>6} {'warm s':>6}  auto"
)


def _row(r: dict[str, Any]) -> str:
    gates = ("ok" if r["probe_gate_passed"] else "probe") if r["validation_allowed"] else "valid"
    return (
        f"{r['model']:18} {r['path']:28} {r['rows_per_s']:7.1f} {r['tokens_per_s']:6.0f} "
        f"{r['gflops']:6.0f} {r['peak_fraction'] * 100:4.0f}% {r['speedup']:6.2f} "
        f"{r['agreement']:6.3f} {r['probe_agreement']:6.3f} {gates:>6} "
        f"{r['cold_start_seconds']:6.2f} {r['warm_start_seconds']:6.2f}  {'<-' if r['auto'] else ''}"
    )


def run_bench(
    specs: Sequence[ModelSpec], rows: int = 1000, threads: int = 0, seed: int = 11
) -> dict[str, Any]:
    """Benchmark every CPU path of `specs`; returns the machine-readable result."""
    import onnxruntime

    from textlens.samples.reviews import review_texts

    threads = configure_threads(threads)
    cpu = cpu_info()
    print(
        f"CPU: {cpu.model} ({cpu.machine}); flags: {' '.join(cpu.shown_flags())}; threads {threads}"
    )
    peaks = {
        "float32": max(matmul_peak(torch.float32), onnx_matmul_peak(False, threads)),
        "int8": onnx_matmul_peak(True, threads),
    }
    peaks["bfloat16"] = matmul_peak(torch.bfloat16) if cpu.native_bf16 else peaks["float32"]
    print(
        "GEMM peak (best of torch and ONNX Runtime, 1024^3): "
        + ", ".join(f"{k} {v:.0f} GOP/s" for k, v in peaks.items())
    )
    print(
        "agree: label agreement (span Jaccard, mean cosine) with torch/float32 on these rows; "
        "probe: the same on the packaged probe set (the load-time gate); gates: ok, or which "
        "gate rules the path out (probe / valid = validation_gate.json); auto: the path picked"
    )
    print(HEADER, flush=True)
    texts = review_texts(rows, seed=seed)
    results = []
    for spec in specs:
        if spec.device not in ("auto", "cpu") or spec.task not in TASK_MODELS:
            continue
        results += bench_model(spec, texts, threads, peaks)
    return {
        "benchmark": "backends",
        "cpu": cpu.model,
        "machine": cpu.machine,
        "cpu_flags": cpu.shown_flags(),
        "threads": threads,
        "matmul_peak_gflops": {k: round(v, 1) for k, v in peaks.items()},
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
        "rows": rows,
        "results": results,
    }
