"""On a CUDA machine the defaults run on the GPU in half precision and agree with CPU fp32.

These tests skip where CUDA is absent (CI has no GPU); on a GPU machine
`make test` runs them with the rest of the suite. The agreement check is the
one that matters: half precision must not change what analysts see.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from textlens.samples.reviews import review_texts
from textlens.server.assembly import load_models
from textlens.server.runtime.registry import ModelRegistry, ServedModel
from textlens.server.settings import ModelSpec, default_models

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

ROWS = 512


def _on(device: str, dtype: str) -> list[ModelSpec]:
    return [spec.model_copy(update={"device": device, "dtype": dtype}) for spec in default_models()]


def _by_task(registry: ModelRegistry) -> dict[str, ServedModel]:
    return {served.spec.task: served for served in registry.models.values()}


def compare_precisions(
    fast: dict[str, ServedModel], exact: dict[str, ServedModel]
) -> dict[str, float]:
    """Agreement of every default task between two loaded copies, on sample reviews."""
    texts = review_texts(ROWS, seed=11)

    def run(models: dict[str, ServedModel], task: str, **options: Any) -> Any:
        return models[task].batcher.submit(texts, options=options).result(timeout=600)

    fast_sent, exact_sent = run(fast, "sentiment"), run(exact, "sentiment")
    fast_vec = run(fast, "embed", normalize=True)
    exact_vec = run(exact, "embed", normalize=True)
    fast_ner, exact_ner = run(fast, "ner"), run(exact, "ner")

    def spans(rows: list[list[Any]]) -> set[tuple[int, str, int, int]]:
        return {(r, e.label, e.start, e.end) for r, ents in enumerate(rows) for e in ents}

    fast_spans, exact_spans = spans(fast_ner), spans(exact_ner)
    return {
        "sentiment_label_agreement": float(
            np.mean([a.label == b.label for a, b in zip(fast_sent, exact_sent, strict=True)])
        ),
        "sentiment_score_max_diff": float(
            max(abs(a.score - b.score) for a, b in zip(fast_sent, exact_sent, strict=True))
        ),
        "embedding_min_cosine": float(np.min(np.sum(fast_vec * exact_vec, axis=1))),
        "entity_jaccard": len(fast_spans & exact_spans) / max(1, len(fast_spans | exact_spans)),
        "entities": float(len(exact_spans)),
    }


@pytest.fixture(scope="module")
def gpu_and_cpu() -> Iterator[tuple[dict[str, ServedModel], dict[str, ServedModel]]]:
    gpu = load_models(_on("auto", "auto"))
    cpu = load_models(_on("cpu", "float32"))
    yield _by_task(gpu), _by_task(cpu)
    gpu.close()
    cpu.close()


def test_auto_picks_cuda_in_half_precision(
    gpu_and_cpu: tuple[dict[str, ServedModel], dict[str, ServedModel]],
) -> None:
    gpu, _ = gpu_and_cpu
    for served in gpu.values():
        loaded = served.model.loaded
        assert loaded.device.type == "cuda"
        assert loaded.dtype in (torch.bfloat16, torch.float16)
        assert next(loaded.network.parameters()).device.type == "cuda"


def test_half_precision_on_gpu_agrees_with_cpu_fp32(
    gpu_and_cpu: tuple[dict[str, ServedModel], dict[str, ServedModel]],
) -> None:
    gpu, cpu = gpu_and_cpu
    scores = compare_precisions(gpu, cpu)
    print(scores)
    assert scores["sentiment_label_agreement"] >= 0.98
    assert scores["sentiment_score_max_diff"] <= 0.25
    assert scores["embedding_min_cosine"] >= 0.98
    assert scores["entities"] > 0
    assert scores["entity_jaccard"] >= 0.9
