"""Embeddings for the fit, through the same runtime code that serves the `embed` task.

The fitted centroids are compared with what the served topic model computes,
so the fit must embed exactly as serving does: same tokenizer, same
`max_length` truncation, same mean pooling. Texts go through in length order
(little padding), with a progress bar: on 2 cores this is most of a fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from textlens.server.runtime.loading import LoadedModel, load_model
from textlens.server.runtime.tasks import EmbedModel

#: Texts per forward pass; short texts, so this is about throughput, not memory.
BATCH = 64


def load_encoder(source: str, max_length: int | None) -> EmbedModel:
    """The embed model the topics are fitted on, on the CPU in float32 (as the reference)."""
    loaded: LoadedModel = load_model(
        source, "embed", torch.device("cpu"), torch.float32, max_length
    )
    return EmbedModel("topics-encoder", loaded)


def embed_texts(model: EmbedModel, texts: Sequence[str], *, progress: bool = True) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text, in the order given."""
    from tqdm import tqdm

    dim = model.dim
    out = np.zeros((len(texts), dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with tqdm(
        total=len(texts), desc="embedding", unit="text", disable=not progress, smoothing=0.1
    ) as bar:
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            encoded = model.encode([texts[i] for i in rows], "truncate")
            vectors = np.stack(model.forward(encoded)).astype(np.float32)
            out[rows] = vectors
            bar.update(len(rows))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    unit: np.ndarray = out / np.maximum(norms, 1e-12)
    return unit
