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

BACKENDS = ("auto", "torch", "onnx", "openvino")


@dataclass(frozen=True)
class Int8Recipe:
    """One int8 recipe.

    Dynamic recipes scale each input tensor by its own range at run time, so a padded
    batch's answers move with its neighbours: they run row by row. Static recipes
    (`static`) use scales calibrated once on the probe set, so a row's answer is a
    function of the row alone and rows are batched again (`inference/static_int8.py`).
    Per-channel weights are more accurate, per-tensor faster; `reduce_range` (7-bit
    weights) avoids the u8s8 overflow on x86 without VNNI. `float_ffn_down` keeps each
    layer's feed-forward down-projection (the MatMul after GELU, whose inputs have
    outliers one fixed scale cannot hold) in floating point.
    """

    per_channel: bool
    reduce_range: bool
    static: bool = False
    float_ffn_down: bool = False

    @property
    def name(self) -> str:
        return (
            ("static-" if self.static else "")
            + ("per-channel" if self.per_channel else "per-tensor")
            + ("-reduce-range" if self.reduce_range else "")
            + ("-float-ffn-down" if self.float_ffn_down else "")
        )

    @property
    def per_row(self) -> bool:
        """Whether the engine must run each row alone (dynamic activation scales)."""
        return not self.static


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


#: OpenVINO's int8: NNCF's calibrated (static) quantization, per-channel weights; every
#: MatMul in int8, or the feed-forward down-projections kept in floating point.
OPENVINO_INT8 = Int8Recipe(per_channel=True, reduce_range=False, static=True)
OPENVINO_INT8_FLOAT_FFN_DOWN = Int8Recipe(True, False, static=True, float_ffn_down=True)


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def openvino_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def nncf_available() -> bool:
    return importlib.util.find_spec("nncf") is not None


def int8_recipes(cpu: CpuInfo) -> list[Int8Recipe]:
    """Dynamic per-channel and per-tensor weights, and static (calibrated) per-channel;
    7-bit weights (`reduce_range`) on x86 without VNNI."""
    reduce = cpu.x86 and not cpu.int8_dot
    return [
        Int8Recipe(per_channel=True, reduce_range=reduce),
        Int8Recipe(False, reduce),
        Int8Recipe(True, reduce, static=True, float_ffn_down=True),
    ]


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
            f"ONNX Runtime's CPU kernels have no fast {dtype}: use backend = 'torch' or "
            f"'openvino' for {dtype}, or dtype = 'int8' / 'float32' with backend = 'onnx'"
        )
    if backend == "openvino" and dtype == "float16":
        raise ModelLoadError(
            "textlens runs OpenVINO on the CPU in float32, bfloat16 or int8: set one of "
            "those (or backend = 'torch' for float16)"
        )
    has_ov = openvino_available()
    if backend == "openvino" and not has_ov:
        raise ModelLoadError(
            "backend 'openvino' needs OpenVINO: pip install 'textlens[models]' "
            "(or set backend = 'auto')"
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
    if backend in ("auto", "openvino"):
        out += _openvino_candidates(backend, dtype, cpu, has_ov, notes)
    return out, notes


def _openvino_candidates(
    backend: str, dtype: str, cpu: CpuInfo, has_ov: bool, notes: list[str]
) -> list[Candidate]:
    if not has_ov:
        notes.append("OpenVINO not installed (pip install 'textlens[models]')")
        return []
    out: list[Candidate] = []
    if dtype in ("auto", "float32"):
        out.append(Candidate("openvino", "float32"))
    if dtype == "bfloat16" or (dtype == "auto" and cpu.native_bf16):
        out.append(Candidate("openvino", "bfloat16"))
    if dtype in ("auto", "int8"):
        if nncf_available():
            out += [
                Candidate("openvino", "int8", OPENVINO_INT8),
                Candidate("openvino", "int8", OPENVINO_INT8_FLOAT_FFN_DOWN),
            ]
        elif backend == "openvino" and dtype == "int8":
            raise ModelLoadError("OpenVINO int8 needs NNCF: pip install 'textlens[models]'")
        else:
            notes.append("OpenVINO int8 left out: NNCF not installed")
    return out
