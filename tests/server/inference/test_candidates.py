"""What each backend/dtype setting allows on a CPU, and the errors for what it cannot."""

from __future__ import annotations

import pytest

from textlens.client.errors import ModelLoadError
from textlens.server.dtypes import canonical_dtype
from textlens.server.inference.candidates import cpu_candidates
from textlens.server.runtime.hardware import CpuInfo

ZEN4 = CpuInfo("zen4", "x86_64", frozenset({"avx2", "avx512f", "avx512_bf16", "avx512_vnni"}))
ZEN3 = CpuInfo("zen3", "x86_64", frozenset({"avx2", "fma"}))


def names(backend: str, dtype: str, cpu: CpuInfo) -> list[str]:
    return [c.name for c in cpu_candidates(backend, dtype, cpu)[0]]


def test_auto_on_a_bf16_vnni_cpu_measures_everything() -> None:
    assert names("auto", "auto", ZEN4) == [
        "torch/float32",
        "torch/bfloat16",
        "onnx/float32",
        "onnx/int8 per-channel",
        "onnx/int8 per-tensor",
        "onnx/int8 static-per-channel-float-ffn-down",
        "openvino/float32",
        "openvino/bfloat16",
        "openvino/int8 static-per-channel",
        "openvino/int8 static-per-channel-float-ffn-down",
    ]


def test_auto_on_avx2_only_leaves_out_bf16_and_uses_reduced_range_int8() -> None:
    got, notes = cpu_candidates("auto", "auto", ZEN3)
    assert [c.name for c in got] == [
        "torch/float32",
        "onnx/float32",
        "onnx/int8 per-channel-reduce-range",
        "onnx/int8 per-tensor-reduce-range",
        "onnx/int8 static-per-channel-reduce-range-float-ffn-down",
        "openvino/float32",
        "openvino/int8 static-per-channel",
        "openvino/int8 static-per-channel-float-ffn-down",
    ]
    assert any("no native bf16" in n for n in notes)


def test_pinned_choices() -> None:
    assert names("torch", "float32", ZEN4) == ["torch/float32"]
    assert names("torch", "bf16", ZEN3) == ["torch/bfloat16"]  # explicit: allowed, then gated
    assert names("onnx", "auto", ZEN4) == [
        "onnx/float32",
        "onnx/int8 per-channel",
        "onnx/int8 per-tensor",
        "onnx/int8 static-per-channel-float-ffn-down",
    ]
    assert names("auto", "int8", ZEN4) == [
        "onnx/int8 per-channel",
        "onnx/int8 per-tensor",
        "onnx/int8 static-per-channel-float-ffn-down",
        "openvino/int8 static-per-channel",
        "openvino/int8 static-per-channel-float-ffn-down",
    ]
    assert names("auto", "float32", ZEN4) == ["torch/float32", "onnx/float32", "openvino/float32"]
    assert names("openvino", "auto", ZEN3) == [
        "openvino/float32",
        "openvino/int8 static-per-channel",
        "openvino/int8 static-per-channel-float-ffn-down",
    ]
    assert names("openvino", "bf16", ZEN3) == ["openvino/bfloat16"]  # explicit: then gated


@pytest.mark.parametrize(
    ("backend", "dtype", "message"),
    [
        ("torch", "int8", "int8 runs on ONNX Runtime"),
        ("onnx", "bfloat16", "no fast bfloat16"),
        ("openvino", "float16", "float32, bfloat16 or int8"),
        ("tensorrt", "auto", "unknown backend"),
    ],
)
def test_impossible_choices_say_what_to_change(backend: str, dtype: str, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        cpu_candidates(backend, dtype, ZEN4)


def test_dtype_names() -> None:
    assert canonical_dtype("BF16") == "bfloat16"
    assert canonical_dtype("fp32") == "float32"
    with pytest.raises(ValueError, match="unknown dtype 'int4'"):
        canonical_dtype("int4")
