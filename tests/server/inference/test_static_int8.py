"""Static (calibrated) int8: batched, a row's answer is its own; FFN down-projections stay
float32; gated like every other path, on tiny models and on the default models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import ENGINE_TEXTS, TINY_TASKS, batched_and_alone, tiny_task_model
from textlens.server.inference.candidates import REFERENCE, Candidate, Int8Recipe
from textlens.server.inference.measurement import build_engine, measure
from textlens.server.inference.onnx_engine import OnnxEngine
from textlens.server.inference.onnx_export import export_dir, fp32_file, int8_file
from textlens.server.inference.static_int8 import activation_fed_matmuls
from textlens.server.runtime.context import InferenceContext
from textlens.server.runtime.loading import load_model
from textlens.server.runtime.tasks import TASK_MODELS
from textlens.server.settings import default_models

onnx = pytest.importorskip("onnx", reason="the ONNX backend needs onnx/onnxruntime (models extra)")

STATIC = Candidate(
    "onnx",
    "int8",
    Int8Recipe(per_channel=True, reduce_range=False, static=True, float_ffn_down=True),
)


@pytest.mark.parametrize(("name", "task"), TINY_TASKS)
def test_static_int8_batches_and_answers_each_row_as_alone(
    tiny_models_dir: dict[str, Path], tmp_path: Path, name: str, task: str
) -> None:
    model = tiny_task_model(tiny_models_dir, name, task)
    engine = build_engine(model, STATIC, InferenceContext(cache_dir=tmp_path, threads=1))
    assert isinstance(engine, OnnxEngine) and not engine.per_row  # one session call per batch
    assert engine.variant == "static-per-channel-float-ffn-down"
    for got, alone in batched_and_alone(model, engine, ENGINE_TEXTS):
        # Fixed scales: the neighbours and the padding change nothing beyond float rounding.
        np.testing.assert_allclose(got, alone, rtol=0, atol=1e-4)


@pytest.mark.parametrize(("name", "task"), TINY_TASKS)
def test_the_ffn_down_projections_stay_float32(
    tiny_models_dir: dict[str, Path], tmp_path: Path, name: str, task: str
) -> None:
    model = tiny_task_model(tiny_models_dir, name, task)
    fp32 = fp32_file(model.loaded.network, export_dir(tmp_path, task, model.loaded.version))
    graph = onnx.load(str(fp32))
    kept = activation_fed_matmuls(graph)
    layers = int(model.loaded.network.hf.config.num_hidden_layers)
    ffn_down = [k for k in kept if "output/dense" in k and "attention" not in k]
    assert len(ffn_down) == layers, kept  # one GELU-fed MatMul per layer, found by structure
    # Beyond those, only a classifier head reading the pooler's tanh stays float.
    assert all("classifier" in k for k in set(kept) - set(ffn_down)), kept

    quantized = onnx.load(str(int8_file(fp32, STATIC.recipe, model)))  # type: ignore[arg-type]
    producer = {o: n for n in quantized.graph.node for o in n.output}
    matmuls = [n for n in quantized.graph.node if n.op_type == "MatMul"]

    def dequantized_input(node: onnx.NodeProto) -> bool:
        first = producer.get(node.input[0])
        return first is not None and first.op_type == "DequantizeLinear"

    assert {n.name for n in matmuls if not dequantized_input(n)} == set(ffn_down)
    assert sum(dequantized_input(n) for n in matmuls) >= 4 * layers  # Q, K, V, out, up, ...


def test_the_static_file_is_cached_per_probe_version(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    model = tiny_task_model(tiny_models_dir, "tiny-sequence", "sentiment")
    fp32 = fp32_file(model.loaded.network, export_dir(tmp_path, "sentiment", model.loaded.version))
    path = int8_file(fp32, STATIC.recipe, model)  # type: ignore[arg-type]
    assert path.name.startswith("int8-static-per-channel-float-ffn-down-probe")
    stamp = path.stat().st_mtime_ns
    assert int8_file(fp32, STATIC.recipe, model) == path and path.stat().st_mtime_ns == stamp  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="calibrates on the model's probe set"):
        int8_file(fp32, Int8Recipe(False, False, static=True))


@pytest.mark.parametrize("spec", default_models(), ids=lambda s: s.name)
def test_calibrated_int8_on_the_default_models_is_gated(spec: object, tmp_path: Path) -> None:
    """On each default model, the calibrated int8 paths (ONNX Runtime static, OpenVINO with
    NNCF, full and with float FFN down-projections) build, stay near float32 on the probe set (a broken calibration would not), and
    `measure` lets one serve only if it passed its gate."""
    from textlens.server.inference.candidates import OPENVINO_INT8, OPENVINO_INT8_FLOAT_FFN_DOWN
    from textlens.server.settings import ModelSpec

    assert isinstance(spec, ModelSpec)
    loaded = load_model(spec.source, spec.task, torch.device("cpu"), torch.float32, None)
    model = TASK_MODELS[spec.task](spec.name, loaded)
    context = InferenceContext(cache_dir=tmp_path, threads=2)
    candidates = [
        REFERENCE,
        STATIC,
        Candidate("openvino", "int8", OPENVINO_INT8),
        Candidate("openvino", "int8", OPENVINO_INT8_FLOAT_FFN_DOWN),
    ]
    done = measure(model, candidates, [], ("auto", "auto"), context)
    floor = {"label_agreement": 0.9, "span_jaccard": 0.85, "mean_cosine": 0.97}
    for trial in done.trials[1:]:
        assert trial.parity is not None, (trial.candidate.name, trial.error)
        assert trial.parity.value >= floor[trial.parity.metric], trial.parity.describe()
        if not trial.passed:
            assert done.best is not trial and "failed the gate" in done.reason
    assert done.best.passed
    assert done.best.candidate == REFERENCE or (done.best.rows_per_s or 0) >= (
        done.trials[0].rows_per_s or 0
    )
