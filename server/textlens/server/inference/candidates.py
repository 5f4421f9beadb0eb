"""Which (backend, dtype) combinations a model's configuration allows on this machine.

`auto` in either field widens the list to what could pay here; anything
impossible as asked is an error that says what to change. What is only
*possible* is decided later, by the parity gate and a measurement.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from textlens.contract.errors import ModelLoadError
from textlens.server.dtypes import canonical_dtype
from textlens.server.runtime.hardware import CpuInfo

BACKENDS = ("auto", "torch", "onnx")


@dataclass(frozen=True)
class Int8Recipe:
    """One dynamic-quantization recipe: per-channel weights are more accurate, per-tensor faster;
    `reduce_range` (7-bit weights) avoids the u8s8 overflow on x86 without VNNI."""

    per_channel: bool
    reduce_range: bool

    @property
    def name(self) -> str:
        return ("per-channel" if self.per_channel else "per-tensor") + (
            "-reduce-range" if self.reduce_range else ""
        )


@dataclass(frozen=True)
class Candidate:
    backend: str
    dtype: str
    recipe: Int8Recipe | None = None

    @property
    def name(self) -> str:
        base = f"{self.backend}/{self.dtype}"
        return f"{base} {self.recipe.name}" if self.recipe else base

    @property
    def is_reference(self) -> bool:
        return self.backend == "torch" and self.dtype == "float32"


REFERENCE = Candidate("torch", "float32")


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def int8_recipes(cpu: CpuInfo) -> list[Int8Recipe]:
    """Per-channel and per-tensor weights; 7-bit (`reduce_range`) on x86 without VNNI."""
    reduce = cpu.x86 and not cpu.int8_dot
    return [Int8Recipe(per_channel=True, reduce_range=reduce), Int8Recipe(False, reduce)]


def cpu_candidates(backend: str, dtype: str, cpu: CpuInfo) -> tuple[list[Candidate], list[str]]:
    """Candidates for a CPU model, plus notes on what was left out and why."""
    notes: list[str] = []
    if backend not in BACKENDS:
        raise ModelLoadError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    dtype = canonical_dtype(dtype)
    if backend == "torch" and dtype == "int8":
        raise ModelLoadError(
            "dtype int8 runs on ONNX Runtime: set backend = 'onnx' (or 'auto') for this model"
        )
    if backend == "onnx" and dtype in ("bfloat16", "float16"):
        raise ModelLoadError(
            f"ONNX Runtime's CPU kernels have no fast {dtype}: use backend = 'torch' for "
            f"{dtype}, or dtype = 'int8' / 'float32' with backend = 'onnx'"
        )
    has_ort = onnxruntime_available()
    if backend == "onnx" and not has_ort:
        raise ModelLoadError(
            "backend 'onnx' needs ONNX Runtime: pip install 'textlens[onnx]' "
            "(or set backend = 'torch')"
        )
    if dtype == "int8" and not has_ort:
        raise ModelLoadError("dtype int8 needs ONNX Runtime: pip install 'textlens[onnx]'")
    out: list[Candidate] = []
    if backend in ("auto", "torch"):
        if dtype in ("auto", "float32"):
            out.append(REFERENCE)
        if dtype == "auto":
            if cpu.native_bf16:
                out.append(Candidate("torch", "bfloat16"))
            else:
                notes.append("bfloat16 left out: this CPU has no native bf16 (AVX512_BF16/AMX)")
        elif dtype in ("bfloat16", "float16"):
            out.append(Candidate("torch", dtype))
    if backend in ("auto", "onnx"):
        if not has_ort:
            notes.append("ONNX Runtime not installed (pip install 'textlens[onnx]')")
        else:
            if dtype in ("auto", "float32"):
                out.append(Candidate("onnx", "float32"))
            if dtype in ("auto", "int8"):
                out += [Candidate("onnx", "int8", r) for r in int8_recipes(cpu)]
    return out, notes
