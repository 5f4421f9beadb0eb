"""The OpenVINO engine: the exported ONNX graph compiled by OpenVINO's CPU plugin.

Measured against sentence-transformers' own recipes (bench/peers.py), OpenVINO's
CPU kernels beat torch's on the same precision: on AVX512_BF16 its bf16 ran
MiniLM embeddings at 709 rows/s against 449 for torch bf16 autocast, and its
int8 (NNCF post-training quantization, calibrated) at 1,108 rows/s with a mean
cosine of 0.997 to float32. Both are batch-independent: bf16 only rounds, and
NNCF's int8 has fixed activation scales, so rows are batched as in float32.

- `float32`: inference precision f32 (OpenVINO would otherwise pick bf16 on
  a CPU that has it);
- `bfloat16`: inference precision bf16 (only offered on native bf16 CPUs);
- `int8`: `nncf.quantize` with its transformer preset (it keeps LayerNorm,
  softmax and the other sensitive ops in floating point) over the probe set,
  the rest in bf16 where the CPU has it, else f32.

Graphs are read with `Core.read_model` from the ONNX export (the C++ frontend:
OpenVINO's Python converter would send usage telemetry), and NNCF's own
telemetry is switched off before it is imported.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from textlens.server.inference.onnx_export import (
    atomic_write,
    is_complete,
    quiet,
    write_checksum,
)
from textlens.server.inference.probe_set import PROBE_VERSION
from textlens.server.runtime.cpu_lock import CpuLock

if TYPE_CHECKING:
    from textlens.server.runtime.tasks import TaskModel

log = logging.getLogger(__name__)

#: OpenVINO's name for each dtype's inference precision.
PRECISION = {"float32": "f32", "bfloat16": "bf16"}


class OpenVinoEngine:
    """One compiled OpenVINO model on the CPU, one infer request at a time."""

    backend = "openvino"
    device = "cpu"

    def __init__(
        self,
        path: Path,
        dtype: str,
        threads: int,
        lock: CpuLock | None = None,
        variant: str = "",
        native_bf16: bool = False,
    ) -> None:
        import openvino as ov

        core = ov.Core()
        precision = PRECISION.get(dtype, "bf16" if native_bf16 else "f32")
        self.compiled = core.compile_model(
            core.read_model(str(path)),
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": precision,
                "INFERENCE_NUM_THREADS": threads,
                # One stream: a pass uses every thread, as the CPU lock assumes.
                "PERFORMANCE_HINT": "LATENCY",
            },
        )
        self.inputs = {i.get_any_name() for i in self.compiled.inputs}
        self.path = path
        self.dtype = dtype
        self.variant = variant
        self.precision = precision
        self._lock: Any = lock
        self._request = self.compiled.create_infer_request()
        self._one_at_a_time = threading.Lock()  # an infer request is not reentrant

    def __call__(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, casing_ids: np.ndarray | None
    ) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "casing_ids" in self.inputs:
            if casing_ids is None:
                raise ValueError("this network needs casing_ids")
            feeds["casing_ids"] = casing_ids
        with self._lock or contextlib.nullcontext(), self._one_at_a_time:
            self._request.infer(feeds)
            out = self._request.get_output_tensor(0).data
            return np.array(out, dtype=np.float32)  # a copy: the request reuses its buffer


def openvino_int8_file(fp32: Path, model: TaskModel, float_ffn_down: bool = False) -> Path:
    """`fp32` (ONNX) quantized by NNCF on `model`'s probe set, saved as OpenVINO IR beside it;
    `float_ffn_down` leaves the GELU-fed MatMuls out of the quantization."""
    suffix = "-float-ffn-down" if float_ffn_down else ""
    path = fp32.with_name(f"openvino-int8{suffix}-probe{PROBE_VERSION}.xml")
    weights = path.with_suffix(".bin")
    if is_complete(path) and is_complete(weights):
        return path
    os.environ.setdefault("NNCF_CI", "1")  # NNCF's switch for its usage telemetry
    import nncf
    import onnx
    import openvino as ov

    from textlens.server.inference.static_int8 import ProbeCalibration, activation_fed_matmuls

    core = ov.Core()
    network = core.read_model(str(fp32))
    names = {i.get_any_name() for i in network.inputs}
    feeds = list(ProbeCalibration(model, names))
    # OpenVINO keeps the ONNX node names as its operations' friendly names.
    kept = activation_fed_matmuls(onnx.load(str(fp32))) if float_ffn_down else []
    nncf.set_log_level(logging.ERROR)
    # NNCF draws progress bars on stdout; a server's stdout is its log.
    with quiet(), contextlib.redirect_stdout(io.StringIO()):
        quantized = nncf.quantize(
            network,
            nncf.Dataset(feeds),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(feeds),
            fast_bias_correction=True,
            ignored_scope=nncf.IgnoredScope(names=kept, validate=False),
        )
    with atomic_write(weights) as tmp_bin:
        tmp_xml = tmp_bin.with_suffix(".xml")
        try:
            ov.save_model(quantized, str(tmp_xml), compress_to_fp16=False)
            tmp_xml.with_suffix(".bin").replace(tmp_bin)
            with atomic_write(path) as tmp:
                tmp_xml.replace(tmp)
        finally:
            tmp_xml.unlink(missing_ok=True)
    write_checksum(weights)
    write_checksum(path)
    log.debug("quantized %s with NNCF", path)
    return path
