"""The OpenVINO engine on tiny models: batched answers are each row's own, NNCF's int8 is
cached like every export, explicit settings are honoured or refused with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import ENGINE_TEXTS, TINY_TASKS, batched_and_alone, tiny_task_model
from textlens.client.errors import ModelLoadError
from textlens.server.assembly import load_models
from textlens.server.inference.candidates import (
    OPENVINO_INT8,
    OPENVINO_INT8_FLOAT_FFN_DOWN,
    Candidate,
)
from textlens.server.inference.measurement import build_engine
from textlens.server.inference.onnx_export import checksum_file, export_dir, fp32_file
from textlens.server.inference.openvino_engine import OpenVinoEngine, openvino_int8_file
from textlens.server.runtime.context import InferenceContext
from textlens.server.runtime.hardware import cpu_info
from textlens.server.settings import ModelSpec, RuntimeSettings

pytest.importorskip("openvino", reason="the OpenVINO backend (models extra)")


@pytest.mark.parametrize(
    ("dtype", "recipe"),
    [("float32", None), ("int8", OPENVINO_INT8), ("int8", OPENVINO_INT8_FLOAT_FFN_DOWN)],
    ids=["float32", "int8", "int8-float-ffn-down"],
)
@pytest.mark.parametrize(("name", "task"), TINY_TASKS)
def test_openvino_answers_each_row_as_alone(
    tiny_models_dir: dict[str, Path],
    tmp_path: Path,
    name: str,
    task: str,
    dtype: str,
    recipe: Any,
) -> None:
    model = tiny_task_model(tiny_models_dir, name, task)
    engine = build_engine(
        model, Candidate("openvino", dtype, recipe), InferenceContext(tmp_path, threads=1)
    )
    assert isinstance(engine, OpenVinoEngine) and engine.backend == "openvino"
    # float32 torch, batched
    reference = [row for row, _ in batched_and_alone(model, model.loaded.run, ENGINE_TEXTS)]
    # int8 keeps bf16 elsewhere where the CPU has it: rounding, not neighbours, moves it.
    tolerance = 1e-4 if engine.precision == "f32" and dtype == "float32" else 5e-2
    for (got, alone), want in zip(
        batched_and_alone(model, engine, ENGINE_TEXTS), reference, strict=True
    ):
        np.testing.assert_allclose(got, alone, rtol=0, atol=tolerance)
        if dtype == "float32":
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_the_int8_ir_is_cached_and_rebuilt_when_damaged(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    model = tiny_task_model(tiny_models_dir, "tiny-sequence", "sentiment")
    fp32 = fp32_file(model.loaded.network, export_dir(tmp_path, "sentiment", model.loaded.version))
    xml = openvino_int8_file(fp32, model)
    mixed = openvino_int8_file(fp32, model, float_ffn_down=True)
    assert mixed != xml and "float-ffn-down" in mixed.name
    weights = xml.with_suffix(".bin")
    assert xml.is_file() and weights.is_file() and checksum_file(weights).is_file()
    stamp = xml.stat().st_mtime_ns
    assert openvino_int8_file(fp32, model) == xml and xml.stat().st_mtime_ns == stamp
    size = weights.stat().st_size
    with weights.open("r+b") as f:  # cut short, as by a full disk
        f.truncate(size // 2)
    assert openvino_int8_file(fp32, model) == xml and weights.stat().st_size == size
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind


def openvino_spec(tiny_models_dir: dict[str, Path], dtype: str) -> ModelSpec:
    source = str(tiny_models_dir["tiny-sequence"])
    return ModelSpec(
        name="s", task="sentiment", source=source, device="cpu", backend="openvino", dtype=dtype
    )


def test_backend_openvino_pinned_serves_and_is_reported(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    spec = openvino_spec(tiny_models_dir, "float32")
    registry = load_models([spec], RuntimeSettings(cache_dir=tmp_path))
    try:
        info = registry.models["s"].info()
        assert (info.backend, info.dtype) == ("openvino", "float32")
        (result,) = registry.models["s"].batcher.submit(["the movie was great"]).result(60)
        assert result.label in {"negative", "positive", "neutral", "LABEL_0", "LABEL_1"}
    finally:
        registry.close()


def test_float16_on_openvino_says_what_to_change(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    spec = openvino_spec(tiny_models_dir, "float16")
    with pytest.raises(ModelLoadError, match="float32, bfloat16 or int8"):
        load_models([spec], RuntimeSettings(cache_dir=tmp_path))


def test_bfloat16_is_offered_only_where_it_is_native() -> None:
    from textlens.server.inference.candidates import cpu_candidates

    got = [c.name for c in cpu_candidates("openvino", "auto", cpu_info())[0]]
    assert ("openvino/bfloat16" in got) == cpu_info().native_bf16
