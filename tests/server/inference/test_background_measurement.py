"""A first start serves at once on float32 torch and measures the faster engines after it
(issue 25, item 1); a measurement shipped for this exact machine kind serves at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from textlens.server.assembly import load_models
from textlens.server.inference import selection as selection_module
from textlens.server.inference.shipped_choices import read_shipped, write_shipped
from textlens.server.runtime.registry import ModelRegistry
from textlens.server.settings import ModelSpec, RuntimeSettings

pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime (models extra)")

TEXTS = ["the movie was great", "terrible service in paris", "ok"]


def load(spec: ModelSpec, cache: Path, measure: str) -> ModelRegistry:
    cpu = spec.model_copy(update={"device": "cpu"})
    return load_models([cpu], RuntimeSettings(cache_dir=cache, measure_engines=measure))


def scores(registry: ModelRegistry, name: str) -> np.ndarray:
    model = registry.models[name].model
    return np.stack([np.asarray(r) for r in model.forward(model.encode(TEXTS, "truncate"))])


def test_first_start_serves_float32_then_switches_when_measured(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    spec = ModelSpec(name="s", task="sentiment", source=str(tiny_models_dir["tiny-sequence"]))
    registry = load(spec, tmp_path, "background")
    try:
        served = registry.models["s"]
        before = served.model.loaded.selection
        assert before is not None and not before.trials  # nothing measured before serving
        assert (before.backend, before.dtype) == ("torch", "float32")
        first = scores(registry, "s")  # it answers while the measurement waits or runs
        assert registry.context.deferred.wait_idle(120)
        after = served.model.loaded.selection
        assert after is not None and after.trials, "the background measurement never finished"
        assert "measured in the background in" in after.reason
        info = served.info()
        assert (info.backend, info.dtype) == (after.backend, after.dtype)
        assert served.model.loaded.run.backend == after.backend  # the engine really switched
        chosen = next(
            t
            for t in after.trials
            if (t["backend"], t["dtype"], t["recipe"] or "")
            == (after.backend, after.dtype, after.variant)
        )
        assert chosen["passed"]
        np.testing.assert_array_equal(scores(registry, "s").argmax(1), first.argmax(1))
        (choice,) = (tmp_path / "choices").glob("s-*.json")
    finally:
        registry.close()
    again = load(spec, tmp_path, "background")  # the next start reads what was measured
    try:
        cached = again.models["s"].model.loaded.selection
        assert cached is not None and cached.cached
        assert (cached.backend, cached.dtype) == (after.backend, after.dtype)
        assert again.context.deferred.pending() == []
        assert json.loads(choice.read_text())["backend"] == after.backend
    finally:
        again.close()


def test_a_model_with_one_candidate_or_an_explicit_dtype_is_not_deferred(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    source = str(tiny_models_dir["tiny-sequence"])
    pinned = ModelSpec(name="p", task="sentiment", source=source, backend="onnx", dtype="float32")
    registry = load(pinned, tmp_path, "background")
    try:  # an explicit choice must pass its gate before serving: measured at load
        selection = registry.models["p"].model.loaded.selection
        assert selection is not None and selection.trials and selection.backend == "onnx"
        assert registry.context.deferred.pending() == []
    finally:
        registry.close()


def test_closing_during_the_measurement_returns_promptly(
    tiny_models_dir: dict[str, Path], tmp_path: Path
) -> None:
    spec = ModelSpec(name="s", task="ner", source=str(tiny_models_dir["tiny-token"]))
    registry = load(spec, tmp_path, "background")
    registry.close()  # the measurement stops at its next batch, or was never started
    thread = registry.context.deferred._thread
    assert thread is None or not thread.is_alive()
    for leftover in (tmp_path / "choices").glob("*.json"):  # all or nothing
        assert json.loads(leftover.read_text())["trials"]


def test_a_choice_shipped_for_this_machine_serves_at_once(
    tiny_models_dir: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ModelSpec(name="s", task="sentiment", source=str(tiny_models_dir["tiny-sequence"]))
    measured = load(spec, tmp_path / "release-machine", "at_load")  # what a release measures
    measured.close()
    (record_file,) = (tmp_path / "release-machine" / "choices").glob("s-*.json")
    digest = record_file.stem.rsplit("-", 1)[-1]
    shipped = tmp_path / "engine_choices.json"
    record: dict[str, Any] = json.loads(record_file.read_text())
    record["backend"], record["dtype"], record["recipe"] = "onnx", "float32", None
    write_shipped(shipped, "old", {"0" * 16: {**record, "version": "old"}})
    assert set(read_shipped(shipped)) == {"0" * 16}
    write_shipped(shipped, record["version"], {digest: record})  # drops the old version's
    assert set(read_shipped(shipped)) == {digest}

    # Built-in models look in their package folder; this tiny model's is `shipped`.
    monkeypatch.setattr(
        selection_module,
        "shipped_choice",
        lambda _source, key: read_shipped(shipped).get(key),
    )
    fresh = load(spec, tmp_path / "user-machine", "background")
    try:
        selection = fresh.models["s"].model.loaded.selection
        assert selection is not None and selection.cached
        assert (selection.backend, selection.dtype) == ("onnx", "float32")
        assert "measured on this CPU kind before release" in selection.reason
        assert fresh.context.deferred.pending() == []  # nothing left to measure
        cached = list((tmp_path / "user-machine" / "choices").glob("s-*.json"))
        assert [p.name for p in cached] == [record_file.name]  # the next start reads its cache
    finally:
        fresh.close()


def test_a_shipped_calibrated_int8_choice_is_built_in_the_background(
    tiny_models_dir: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenVINO int8 calibrates for seconds per model: with a shipped (or cached) choice of
    it and nothing built yet, float32 torch serves at once and the engine follows."""
    pytest.importorskip("openvino", reason="the OpenVINO backend (models extra)")
    spec = ModelSpec(name="s", task="sentiment", source=str(tiny_models_dir["tiny-sequence"]))
    measured = load(spec, tmp_path / "release-machine", "at_load")
    measured.close()
    (record_file,) = (tmp_path / "release-machine" / "choices").glob("s-*.json")
    digest = record_file.stem.rsplit("-", 1)[-1]
    record: dict[str, Any] = json.loads(record_file.read_text())
    record["backend"], record["dtype"], record["recipe"] = "openvino", "int8", "static-per-channel"
    monkeypatch.setattr(
        selection_module,
        "shipped_choice",
        lambda _source, key: record if key == digest else None,
    )
    fresh = load(spec, tmp_path / "user-machine", "background")
    try:
        served = fresh.models["s"]
        first = served.model.loaded.selection
        assert first is not None and (first.backend, first.dtype) == ("torch", "float32")
        assert "building openvino/int8 static-per-channel" in first.reason
        before = scores(fresh, "s")  # it answers meanwhile
        assert fresh.context.deferred.wait_idle(120)
        after = served.model.loaded.selection
        assert after is not None and (after.backend, after.dtype) == ("openvino", "int8")
        assert after.cached and "before release" in after.reason
        assert scores(fresh, "s").shape == before.shape  # and now on the built engine
        assert list((tmp_path / "user-machine" / "choices").glob("s-*.json"))
    finally:
        fresh.close()
    again = load(spec, tmp_path / "user-machine", "background")  # built now: serves at once
    try:
        selection = again.models["s"].model.loaded.selection
        assert selection is not None and (selection.backend, selection.dtype) == (
            "openvino",
            "int8",
        )
        assert again.context.deferred.pending() == []
    finally:
        again.close()
