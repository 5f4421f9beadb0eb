"""A model ONNX Runtime or OpenVINO serves keeps its network's structure, not its weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from textlens.server.assembly import load_models
from textlens.server.runtime.engine import Selection
from textlens.server.runtime.loading import load_model
from textlens.server.runtime.tasks import TASK_MODELS
from textlens.server.runtime.torch_weights import tensor_bytes, weightless_copy
from textlens.server.settings import ModelSpec, RuntimeSettings

pytest.importorskip("onnxruntime", reason="the ONNX backend (models extra)")


def test_a_weightless_copy_keeps_the_structure_and_leaves_the_original(
    tiny_models_dir: dict[str, Path],
) -> None:
    loaded = load_model(
        str(tiny_models_dir["tiny-token"]), "ner", torch.device("cpu"), torch.float32, 64
    )
    before = tensor_bytes(loaded.network)
    shell = weightless_copy(loaded.network)
    assert before > 0 and tensor_bytes(shell) == 0
    assert tensor_bytes(loaded.network) == before  # the original is untouched
    assert shell.hf.config.to_dict() == loaded.network.hf.config.to_dict()
    assert shell.kind == loaded.network.kind and (shell.casing is None) == (not loaded.casing)
    assert [n for n, _ in shell.named_parameters()] == [
        n for n, _ in loaded.network.named_parameters()
    ]
    ids = torch.ones(1, 4, dtype=torch.long)
    with pytest.raises(RuntimeError, match=r"torch weights were released.*release_torch_weights"):
        shell(ids, ids, ids if loaded.casing else None)


@pytest.mark.parametrize("release", [True, False])
def test_an_onnx_model_frees_its_torch_weights(
    tiny_models_dir: dict[str, Path], tmp_path: Path, release: bool
) -> None:
    spec = ModelSpec(
        name="s",
        task="sentiment",
        source=str(tiny_models_dir["tiny-sequence"]),
        device="cpu",
        backend="onnx",
        dtype="float32",
    )
    reference = load_models(
        [spec.model_copy(update={"backend": "torch"})], RuntimeSettings(cache_dir=tmp_path)
    )
    served = load_models([spec], RuntimeSettings(cache_dir=tmp_path, release_torch_weights=release))
    try:
        network = served.models["s"].model.loaded.network
        assert (tensor_bytes(network) == 0) == release
        texts = ["the movie was great", "awful, just awful", "fine"]
        got = served.models["s"].batcher.submit(texts).result(60)
        want = reference.models["s"].batcher.submit(texts).result(60)
        for a, b in zip(got, want, strict=True):
            assert a.label == b.label
            for label, p in a.probabilities.items():
                assert p == pytest.approx(b.probabilities[label], abs=1e-4)
    finally:
        served.close()
        reference.close()


def test_a_pass_begun_on_torch_finishes_after_the_switch(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    """The switch replaces the model's network; the torch engine still holds the real one."""
    from textlens.server.inference.candidates import Candidate
    from textlens.server.inference.measurement import build_engine
    from textlens.server.runtime.context import InferenceContext

    loaded = load_model(
        str(tiny_models_dir["tiny-sequence"]), "sentiment", torch.device("cpu"), torch.float32, 64
    )
    model = TASK_MODELS["sentiment"]("s", loaded)
    torch_engine = loaded.run
    ids, mask, casing = model.pad(model.encode(["the movie was great"], "truncate"))
    before = torch_engine(ids, mask, casing)
    onnx = build_engine(model, Candidate("onnx", "float32"), InferenceContext(tmp_path, threads=1))
    freed = loaded.serve_on(onnx, Selection("onnx", "float32", "", "test"))
    assert freed > 0 and tensor_bytes(loaded.network) == 0
    np.testing.assert_array_equal(torch_engine(ids, mask, casing), before)
    np.testing.assert_allclose(loaded.run(ids, mask, casing), before, atol=1e-4)
