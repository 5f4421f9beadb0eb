"""Issue 22 item 12: a damaged cached ONNX export is rebuilt, not fallen back from at every start.

Each "start" is `ModelRegistry.load` (what `textlens serve` runs) over a tiny
model pinned to ONNX, with its own cache directory.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from textlens.server.assembly import load_models
from textlens.server.inference.candidates import Int8Recipe
from textlens.server.inference.onnx_export import checksum_file, int8_file
from textlens.server.runtime.artifacts import sha256_file
from textlens.server.settings import ModelSpec, RuntimeSettings

pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime (models extra)")


def start(source: Path, cache: Path) -> str:
    """Load the model on ONNX float32 as a server start does; its backend."""
    spec = ModelSpec(
        name="s",
        task="sentiment",
        source=str(source),
        backend="onnx",
        dtype="float32",
        device="cpu",
    )
    registry = load_models([spec], RuntimeSettings(cache_dir=cache))
    try:
        registry.models["s"].warm_up()
        return registry.infos()[0].backend
    finally:
        registry.close()


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_export_is_rebuilt_once_and_served(
    tiny_models_dir: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="textlens.server.inference.onnx_export")
    assert start(tiny_models_dir["tiny-sequence"], tmp_path) == "onnx"
    (exported,) = (tmp_path / "onnx").glob("sentiment-*/fp32.onnx")
    size = exported.stat().st_size
    assert checksum_file(exported).read_text().strip() == sha256_file(exported)
    truncate(exported)

    assert start(tiny_models_dir["tiny-sequence"], tmp_path) == "onnx"
    # Rebuilt in place, whole, with its new checksum.
    assert exported.stat().st_size == size
    assert checksum_file(exported).read_text().strip() == sha256_file(exported)
    assert any("is damaged" in r.getMessage() for r in caplog.records)

    caplog.clear()
    rebuilt_at = exported.stat().st_mtime_ns
    assert start(tiny_models_dir["tiny-sequence"], tmp_path) == "onnx"
    assert exported.stat().st_mtime_ns == rebuilt_at  # the second start used it as it was
    assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]


def test_int8_files_and_files_without_a_checksum_are_rebuilt(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    start(tiny_models_dir["tiny-sequence"], tmp_path)
    (fp32,) = (tmp_path / "onnx").glob("sentiment-*/fp32.onnx")
    recipe = Int8Recipe(per_channel=True, reduce_range=False)
    quantized = int8_file(fp32, recipe)
    size = quantized.stat().st_size
    truncate(quantized)
    assert int8_file(fp32, recipe) == quantized and quantized.stat().st_size == size
    assert checksum_file(quantized).read_text().strip() == sha256_file(quantized)
    # A cache written before checksums existed: rebuilt once, then trusted.
    checksum_file(fp32).unlink()
    assert start(tiny_models_dir["tiny-sequence"], tmp_path) == "onnx"
    assert checksum_file(fp32).read_text().strip() == sha256_file(fp32)


def test_a_choice_measured_over_a_damaged_export_is_measured_again(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    """A cache from before checksums: the damaged export made `auto` record torch; the
    next start measures again (the export is rebuilt now) instead of trusting that."""
    import json

    spec = ModelSpec(
        name="s", task="sentiment", source=str(tiny_models_dir["tiny-sequence"]), device="cpu"
    )

    def selection() -> Any:
        registry = load_models([spec], RuntimeSettings(cache_dir=tmp_path))
        try:
            return registry.models["s"].model.loaded.selection
        finally:
            registry.close()

    assert selection().cached is False
    (choice,) = (tmp_path / "choices").glob("s-*.json")
    data = json.loads(choice.read_text())
    onnx = next(t for t in data["trials"] if t["backend"] == "onnx")
    onnx["error"] = "InvalidProtobuf: [ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model failed"
    choice.write_text(json.dumps(data))
    assert selection().cached is False  # measured again
    assert selection().cached is True  # and the new measurement is trusted
