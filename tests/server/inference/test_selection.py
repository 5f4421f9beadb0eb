"""Engines chosen, gated, cached and reported, on tiny models made at test time."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from textlens.client.errors import ModelLoadError
from textlens.server.assembly import load_models
from textlens.server.inference import parity
from textlens.server.runtime.registry import ModelRegistry
from textlens.server.settings import ModelSpec, RuntimeSettings

pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime (models extra)")


def load(spec: ModelSpec, cache: Path) -> ModelRegistry:
    """On the CPU: these tests are about the CPU's measured choice (a GPU host has its own
    rule, tested in tests/server/test_cuda.py under the `gpu` marker)."""
    return load_models(
        [spec.model_copy(update={"device": "cpu"})], RuntimeSettings(cache_dir=cache)
    )


def outputs(registry: ModelRegistry, name: str, texts: list[str]) -> np.ndarray:
    model = registry.models[name].model
    encoded = model.encode(texts, "truncate")
    return np.stack([np.asarray(r, dtype=np.float32) for r in model.forward(encoded)])


TEXTS = ["the movie was great", "terrible service in paris", "john smith went to berlin", "ok"]


def test_auto_measures_every_candidate_and_says_why(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    spec = ModelSpec(name="s", task="sentiment", source=str(tiny_models_dir["tiny-sequence"]))
    registry = load(spec, tmp_path)
    try:
        (info,) = registry.infos()
        selection = registry.models["s"].model.loaded.selection
        assert selection is not None and not selection.cached
        tried = [(t["backend"], t["dtype"]) for t in selection.trials]
        assert ("torch", "float32") in tried and ("onnx", "float32") in tried
        chosen = next(
            t
            for t in selection.trials
            if (t["backend"], t["dtype"], t["recipe"] or "")
            == (selection.backend, selection.dtype, selection.variant)
        )
        assert chosen["passed"] and chosen["rows_per_s"] > 0
        assert (info.backend, info.dtype) == (selection.backend, selection.dtype)
        assert info.backend_reason.startswith("backend=auto dtype=auto: ")
        assert list((tmp_path / "choices").glob("s-*.json"))
    finally:
        registry.close()
    again = load(spec, tmp_path)  # the second start reuses the measurement
    try:
        second = again.models["s"].model.loaded.selection
        assert second is not None and second.cached
        assert (second.backend, second.dtype) == (selection.backend, selection.dtype)
        assert "measured at an earlier start" in again.infos()[0].backend_reason
    finally:
        again.close()


def test_onnx_float32_matches_torch_and_is_exported_once(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    source = str(tiny_models_dir["tiny-sequence"])
    torch_reg = load(
        ModelSpec(name="t", task="sentiment", source=source, backend="torch", dtype="float32"),
        tmp_path,
    )
    onnx_spec = ModelSpec(
        name="o", task="sentiment", source=source, backend="onnx", dtype="float32"
    )
    started = time.perf_counter()
    onnx_reg = load(onnx_spec, tmp_path)
    first = time.perf_counter() - started
    try:
        assert onnx_reg.infos()[0].backend == "onnx"
        assert torch_reg.infos()[0].backend_reason == "torch/float32 as configured"
        np.testing.assert_allclose(
            outputs(onnx_reg, "o", TEXTS), outputs(torch_reg, "t", TEXTS), atol=1e-5
        )
        (exported,) = (tmp_path / "onnx").glob("sentiment-*/fp32.onnx")
        stamp = exported.stat().st_mtime_ns
    finally:
        onnx_reg.close()
        torch_reg.close()
    started = time.perf_counter()
    again = load(onnx_spec, tmp_path)
    second = time.perf_counter() - started
    again.close()
    print(f"onnx start: first {first:.2f}s (export + gate), second {second:.2f}s (cached)")
    assert exported.stat().st_mtime_ns == stamp  # not exported again
    assert len(list((tmp_path / "onnx").iterdir())) == 1


def test_a_new_model_version_gets_new_files(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    changed = tmp_path / "changed"
    shutil.copytree(tiny_models_dir["tiny-sequence"], changed)
    weights = changed / "model.safetensors"
    tensors = load_file(weights)
    key = next(k for k in tensors if k.endswith("classifier.bias"))
    tensors[key] = tensors[key] + torch.tensor([0.5, -0.5])
    save_file(tensors, weights, metadata={"format": "pt"})
    cache = tmp_path / "cache"
    versions = []
    for source in (tiny_models_dir["tiny-sequence"], changed):
        spec = ModelSpec(
            name="s", task="sentiment", source=str(source), backend="onnx", dtype="float32"
        )
        registry = load(spec, cache)
        versions.append(registry.models["s"].version)
        registry.close()
    assert versions[0] != versions[1]
    dirs = sorted(p.name for p in (cache / "onnx").iterdir())
    assert len(dirs) == 2 and all(any(v in d for d in dirs) for v in versions)


def test_ner_and_embed_on_onnx_agree_with_torch(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    for name, task in (("tiny-token", "ner"), ("tiny-encoder", "embed")):
        source = str(tiny_models_dir[name])
        pinned = load(
            ModelSpec(name="t", task=task, source=source, backend="torch", dtype="float32"),
            tmp_path,
        )
        onnx = load(
            ModelSpec(name="o", task=task, source=source, backend="onnx", dtype="float32"), tmp_path
        )
        try:
            a, b = outputs(pinned, "t", TEXTS[:1]), outputs(onnx, "o", TEXTS[:1])
            np.testing.assert_allclose(b, a, atol=1e-5)
        finally:
            pinned.close()
            onnx.close()


def test_explicit_int8_that_fails_the_gate_is_an_error(
    tiny_models_dir: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(parity.AGREEMENT_FLOOR, "int8", 1.01)  # no candidate can agree 101%
    spec = ModelSpec(
        name="q", task="sentiment", source=str(tiny_models_dir["tiny-sequence"]), dtype="int8"
    )
    with pytest.raises(
        ModelLoadError, match=r"backend=auto dtype=int8 failed the parity gate"
    ) as err:
        load(spec, tmp_path)
    assert "label_agreement" in str(err.value) and "needs >= 1.01" in str(err.value)


def test_auto_never_picks_what_fails_the_gate(
    tiny_models_dir: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for dtype in ("int8", "bfloat16", "float32"):
        monkeypatch.setitem(parity.AGREEMENT_FLOOR, dtype, 1.01)
    spec = ModelSpec(name="s", task="sentiment", source=str(tiny_models_dir["tiny-sequence"]))
    registry = load(spec, tmp_path)
    try:
        info = registry.infos()[0]
        assert (info.backend, info.dtype) == ("torch", "float32")
        assert "failed the gate" in info.backend_reason
    finally:
        registry.close()
