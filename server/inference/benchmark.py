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
from textlens.server.inference.hardware import cpu_info
from textlens.server.inference.parity import compare
from textlens.server.inference.probing import Probe
from textlens.server.inference.selection import InferenceContext, build_engine
from textlens.server.inference.threads import configure_threads
from textlens.server.runtime.loading import load_model
from textlens.server.runtime.tasks import TASK_MODELS, TaskModel
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


class BenchProbe(Probe):
    """The benchmark's rows in place of the probe set (same batching and decoding)."""

    def __init__(self, model: TaskModel, inputs: Sequence[Any]) -> None:
        self.model = model
        self.inputs = list(inputs)
        self.encoded = model.encode(self.inputs, "truncate")
        order = sorted(range(len(self.encoded)), key=lambda i: self.encoded[i].length)
        self.batches = [order[i : i + 64] for i in range(0, len(order), 64)]
        self.tokens = sum(e.length for e in self.encoded)

    def padded_tokens(self) -> int:
        return sum(len(b) * max(self.encoded[i].length for i in b) for b in self.batches)


def bench_model(
    spec: ModelSpec, rows: Sequence[str], threads: int, peaks: dict[str, float]
) -> list[dict[str, Any]]:
    started = time.perf_counter()
    loaded = load_model(spec.source, spec.task, torch.device("cpu"), torch.float32, spec.max_length)
    load_seconds = time.perf_counter() - started
    model = TASK_MODELS[spec.task](spec.name, loaded)
    inputs: Sequence[Any] = [(t, t.split()[0]) for t in rows] if spec.task == "aspect" else rows
    probe = BenchProbe(model, inputs)
    padded = probe.padded_tokens()
    per_token = flops_per_token(model, padded / max(1, len(probe.encoded)))
    candidates, _ = cpu_candidates("auto", "auto", cpu_info())
    out: list[dict[str, Any]] = []
    reference = None
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
            gflops = per_token * padded / run.seconds / 1e9
            peak_key = "bfloat16" if candidate.dtype in ("bfloat16", "float16") else "float32"
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
                    "gate_passed": parity.passed or candidate == REFERENCE,
                    "load_seconds": round(load_seconds, 2),
                    "cold_start_seconds": round(load_seconds + cold, 2),
                    "warm_start_seconds": round(load_seconds + warm, 2),
                }
            )
            print(_row(out[-1]), flush=True)
    return out


HEADER = (
    f"{'model':18} {'path':32} {'rows/s':>8} {'tok/s':>8} {'GFLOP/s':>8} {'%peak':>6} "
    f"{'x fp32':>7} {'agree':>7} {'gate':>5} {'cold s':>7} {'warm s':>7}"
)


def _row(r: dict[str, Any]) -> str:
    return (
        f"{r['model']:18} {r['path']:32} {r['rows_per_s']:8.1f} {r['tokens_per_s']:8.0f} "
        f"{r['gflops']:8.1f} {r['peak_fraction'] * 100:5.0f}% {r['speedup']:7.2f} "
        f"{r['agreement']:7.4f} {'ok' if r['gate_passed'] else 'FAIL':>5} "
        f"{r['cold_start_seconds']:7.2f} {r['warm_start_seconds']:7.2f}"
    )


def run_bench(
    specs: Sequence[ModelSpec], rows: int = 1000, threads: int = 0, seed: int = 11
) -> dict[str, Any]:
    """Benchmark every CPU path of `specs`; returns the machine-readable result."""
    import onnxruntime

    from textlens.connectors.duckdb.sample_data import review_texts

    threads = configure_threads(threads)
    cpu = cpu_info()
    print(
        f"CPU: {cpu.model} ({cpu.machine}); flags: {' '.join(cpu.shown_flags())}; threads {threads}"
    )
    peaks = {"float32": matmul_peak(torch.float32)}
    peaks["bfloat16"] = matmul_peak(torch.bfloat16) if cpu.native_bf16 else peaks["float32"]
    print(
        f"matmul peak: float32 {peaks['float32']:.0f} GFLOP/s, bfloat16 {peaks['bfloat16']:.0f} GFLOP/s"
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
