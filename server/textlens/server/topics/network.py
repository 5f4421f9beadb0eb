"""The served topic classifier: the base encoder, then cosine similarity to topic centroids.

A topic model is a textlens delta of kind `topics` whose tensors are the
centroids (one unit vector per topic) and the outlier threshold. Its logits are
`scale * [cos(text, c_1), ..., cos(text, c_K), threshold]`, so the softmax the
classifier path already applies gives `classify_scores`, and the arg-max is the
nearest topic, or `outlier` when no centroid is at least `threshold` similar.
The fit computes assignments with `assign` below, the same arithmetic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from textlens.server.runtime.artifacts import DeltaMeta
from textlens.server.runtime.loading import register_network_kind
from textlens.server.runtime.networks import TaskNetwork

KIND = "topics"
OUTLIER_LABEL = "outlier"
#: Softmax sharpness over cosine similarities (sentence-transformers' scale, as zero-shot).
SCALE = 20.0


class TopicNetwork(TaskNetwork):
    """Mean-pooled encoder output compared with `centroids`; logits per topic plus `outlier`."""

    # Nearest-centroid labels flip near the boundaries at lower precision, so served
    # topics are the fit's assignments only in float32.
    float32_only = True

    def __init__(
        self, hf: torch.nn.Module, n_topics: int, masks: Sequence[Sequence[str]] = ()
    ) -> None:
        super().__init__(hf, "embed")
        config: Any = hf.config
        self.register_buffer("centroids", torch.zeros(n_topics, int(config.hidden_size)))
        self.register_buffer("threshold", torch.zeros(1))
        self.masks = compile_masks(masks)

    def masked(self, texts: Sequence[str]) -> list[str]:
        """The texts as the fit saw them (its `--mask` rules applied)."""
        return apply_masks(self.masks, texts)

    def prepare_texts(self, texts: Sequence[str]) -> list[str]:
        return self.masked(texts)

    @classmethod
    def from_meta(cls, encoder: TaskNetwork, meta: DeltaMeta) -> TopicNetwork:
        """The network a `topics` delta loads into (the runtime's loader calls it)."""
        return cls(encoder.hf, len(meta.id2label) - 1, meta.training.get("masks", []))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        casing_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        pooled = super().forward(input_ids, attention_mask, casing_ids)
        unit = torch.nn.functional.normalize(pooled.float(), dim=-1)
        sims = unit @ self.get_buffer("centroids").float().T
        outlier = self.get_buffer("threshold").float().expand(sims.shape[0], 1)
        return SCALE * torch.cat([sims, outlier], dim=1)


def assign(unit_embeddings: np.ndarray, centroids: np.ndarray, threshold: float) -> np.ndarray:
    """Topic index per row (`len(centroids)` = outlier): what the served network's arg-max says."""
    sims = unit_embeddings @ centroids.T
    best = sims.argmax(axis=1)
    top = sims[np.arange(len(sims)), best]
    out: np.ndarray = np.where(top >= threshold, best, len(centroids))
    return out


def compile_masks(masks: Sequence[Sequence[str]]) -> list[tuple[re.Pattern[str], str]]:
    """`[[pattern, replacement], ...]` (Python regular expressions) compiled, in order."""
    out = []
    for pattern, replacement in masks:
        try:
            out.append((re.compile(pattern), replacement))
        except re.error as exc:
            raise ValueError(f"mask {pattern!r} is not a valid regular expression: {exc}") from exc
    return out


def apply_masks(masks: Sequence[tuple[re.Pattern[str], str]], texts: Sequence[str]) -> list[str]:
    """Replace every match of each mask, in order (names out, so topics are about events)."""
    out = list(texts)
    for pattern, replacement in masks:
        out = [pattern.sub(replacement, t) for t in out]
    return out


register_network_kind(KIND, TopicNetwork.from_meta)
