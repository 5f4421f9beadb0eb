"""Engines answer each text as a function of that text alone, whatever shares its batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import ENGINE_TEXTS, TINY_TASKS
from textlens.server.inference.candidates import Candidate, Int8Recipe
from textlens.server.inference.measurement import build_engine
from textlens.server.runtime.context import InferenceContext
from textlens.server.runtime.loading import load_model
from textlens.server.runtime.tasks import TASK_MODELS

pytest.importorskip("onnxruntime", reason="the ONNX backend needs onnxruntime (models extra)")

TEXTS = ENGINE_TEXTS


@pytest.mark.parametrize(
    ("name", "task"),
    TINY_TASKS,
)
def test_int8_answers_do_not_depend_on_the_batch(
    tiny_models_dir: dict[str, Path], tmp_path: Path, name: str, task: str
) -> None:
    """Dynamic int8 scales activations by the range of the whole input: batched, the long
    text moved the short ones' answers. Each row is run alone, so batch and alone agree."""
    loaded = load_model(str(tiny_models_dir[name]), task, torch.device("cpu"), torch.float32, 128)
    model = TASK_MODELS[task]("m", loaded)
    context = InferenceContext(cache_dir=tmp_path, threads=1)
    engine = build_engine(model, Candidate("onnx", "int8", Int8Recipe(True, False)), context)
    encoded = model.encode(TEXTS, "truncate")
    width = max(e.length for e in encoded)
    ids = np.zeros((len(encoded), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for r, e in enumerate(encoded):
        ids[r, : e.length], mask[r, : e.length] = e.ids, 1
    casing = np.zeros_like(ids) if loaded.casing else None
    batched = engine(ids, mask, casing)
    assert batched.shape[0] == len(TEXTS)
    for r, e in enumerate(encoded):
        n = e.length
        alone = engine(
            ids[r : r + 1, :n],
            mask[r : r + 1, :n],
            None if casing is None else casing[r : r + 1, :n],
        )
        if batched.ndim == 3:  # per token: the row's own tokens, then zeros
            assert batched.shape[1] == width
            np.testing.assert_array_equal(batched[r, :n], alone[0])
            assert not batched[r, n:].any()
        else:
            np.testing.assert_array_equal(batched[r], alone[0])
