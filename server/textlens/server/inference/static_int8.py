"""Static int8: activation scales calibrated once, so a row's answer depends on the row alone.

Dynamic int8 (`onnx_export.int8_file`) scales each input tensor by the range it
sees at run time; in a padded batch that range is the batch's, so labels moved
with a text's neighbours and the dynamic engine runs one row at a time, which
costs the most where rows are short. Here every activation gets a fixed scale,
measured once with ONNX Runtime's MinMax calibrator over the packaged probe set
(QDQ format: ONNX Runtime fuses the QuantizeLinear/DequantizeLinear pairs into
integer kernels), and the engine batches rows like float32 does.

One fixed scale per activation cannot hold the outliers after GELU: quantizing
every MatMul flipped 10% of sentiment labels and brought the embeddings' mean
cosine to 0.92 on the benchmark reviews (docs/inference-backends.md). The MatMul
that reads the GELU output (each layer's feed-forward down-projection) therefore
stays float32; the rest (Q/K/V, attention, attention output, feed-forward
up-projection) is int8. The probe gate and the validation gate decide, per model
and machine, whether the result may serve.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

    from textlens.server.runtime.tasks import TaskModel

#: Ops whose output marks a feed-forward activation (GELU exported as Erf, or fused).
ACTIVATION_OPS = frozenset({"Erf", "Gelu", "FastGelu", "BiasGelu", "Tanh"})
#: Where the walk back from a MatMul input stops: another layer's computation begins there.
BOUNDARY_OPS = frozenset({"MatMul", "Gemm", "LayerNormalization", "Softmax"})
#: Nodes walked back from a MatMul's activation input (GELU is 2-3 nodes after its Erf).
MAX_HOPS = 4


def activation_fed_matmuls(model: onnx.ModelProto) -> list[str]:
    """Names of the MatMuls whose activation input comes from a GELU (the down-projections).

    Found by the graph's structure, not by node names, so any BERT-like export
    (BERT, MiniLM, DistilBERT, the tiny test models) is handled alike.
    """
    producer = {out: node for node in model.graph.node for out in node.output}
    found: list[str] = []
    for node in model.graph.node:
        if node.op_type not in ("MatMul", "Gemm") or not node.input:
            continue
        frontier: list[str] = [node.input[0]]
        seen: set[int] = set()
        for _ in range(MAX_HOPS):
            parents = [producer[name] for name in frontier if name in producer]
            if any(p.op_type in ACTIVATION_OPS for p in parents):
                found.append(node.name)
                break
            frontier = []
            for parent in parents:
                if parent.op_type in BOUNDARY_OPS or id(parent) in seen:
                    continue
                seen.add(id(parent))
                frontier.extend(parent.input)
            if not frontier:
                break
    return found


class ProbeCalibration:
    """ONNX Runtime's `CalibrationDataReader` protocol over a model's probe-set batches."""

    def __init__(self, model: TaskModel, input_names: set[str]) -> None:
        from textlens.server.inference.probing import Probe

        probe = Probe(model)
        self._batches: Iterator[dict[str, np.ndarray]] = (
            self._feeds(model, [probe.encoded[i] for i in batch], input_names)
            for batch in probe.batches
        )

    @staticmethod
    def _feeds(model: TaskModel, items: list[Any], names: set[str]) -> dict[str, np.ndarray]:
        ids, mask, casing = model.pad(items)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "casing_ids" in names:
            feeds["casing_ids"] = casing if casing is not None else np.zeros_like(ids)
        return feeds

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:  # newer onnxruntime iterates
        return self._batches

    def __next__(self) -> dict[str, np.ndarray]:
        return next(self._batches)


def quantize_static_file(
    fp32: Path, out: Path, model: TaskModel, per_channel: bool, reduce_range: bool
) -> list[str]:
    """Write `fp32` quantized with calibrated scales to `out`; returns the MatMuls kept float32."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static as ort_quantize_static

    graph = onnx.load(str(fp32), load_external_data=False)
    keep_float = activation_fed_matmuls(graph)
    names = {i.name for i in graph.graph.input}
    del graph
    ort_quantize_static(
        str(fp32),
        str(out),
        ProbeCalibration(model, names),  # the CalibrationDataReader protocol
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        reduce_range=reduce_range,
        calibrate_method=CalibrationMethod.MinMax,
        op_types_to_quantize=["MatMul", "Gemm"],
        nodes_to_exclude=keep_float,
        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
    )
    return keep_float
