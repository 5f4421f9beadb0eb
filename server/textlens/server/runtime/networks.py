"""Torch modules that turn token ids into task outputs.

Every task model the runtime serves is a `TaskNetwork`: a Hugging Face model
plus, optionally, a casing embedding. The packaged encoder is uncased, so for
NER the casing of each token's original characters is fed back in as a small
learned embedding added to the word embeddings; it costs ~2k parameters and
buys back the capitalisation signal entity recognition depends on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

#: Casing classes: 0 padding/special, 1 no letters, 2 lower, 3 Title, 4 UPPER, 5 mIxEd.
NUM_CASING_CLASSES = 6


def casing_class(piece: str) -> int:
    """The casing class of one token's original characters."""
    letters = [c for c in piece if c.isalpha()]
    if not letters:
        return 1 if piece else 0
    if all(c.islower() for c in letters):
        return 2
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return 3
    if all(c.isupper() for c in letters):
        return 4
    return 5


def casing_ids_for(text: str, offsets: Sequence[tuple[int, int]]) -> list[int]:
    """Casing classes for a tokenised text, from its offset mapping."""
    return [0 if end <= start else casing_class(text[start:end]) for start, end in offsets]


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors over the real (unpadded) tokens."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class TaskNetwork(nn.Module):
    """A Hugging Face model whose forward returns the one tensor a task needs.

    `kind` is `sequence` (logits per text), `token` (logits per token) or
    `embed` (mean-pooled hidden states per text). A model kind registered with the
    loader (`register_network_kind`) subclasses it and may override the two hooks below.
    """

    #: Served in float32 only: `auto` never picks a lower precision for it (topic
    #: labels flip near the centroid boundaries at bf16).
    float32_only = False

    def prepare_texts(self, texts: Sequence[str]) -> list[str]:
        """The texts as the network was fitted to read them (identity for the task heads)."""
        return list(texts)

    def __init__(self, hf: nn.Module, kind: str, casing: bool = False) -> None:
        super().__init__()
        if kind not in ("sequence", "token", "embed"):
            raise ValueError(f"unknown network kind {kind!r}")
        self.hf = hf
        self.kind = kind
        self.casing: nn.Embedding | None = None
        if casing:
            config: Any = hf.config
            hidden = int(config.hidden_size)
            self.casing = nn.Embedding(NUM_CASING_CLASSES, hidden)
            nn.init.zeros_(self.casing.weight)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        casing_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        kwargs: dict[str, torch.Tensor] = {"attention_mask": attention_mask}
        if self.casing is not None:
            if casing_ids is None:
                raise ValueError("this network needs casing_ids")
            hf: Any = self.hf
            embeds = hf.get_input_embeddings()(input_ids) + self.casing(casing_ids)
            kwargs["inputs_embeds"] = embeds
        else:
            kwargs["input_ids"] = input_ids
        out = self.hf(**kwargs)
        if self.kind == "embed":
            return mean_pool(out.last_hidden_state, attention_mask)
        logits: torch.Tensor = out.logits
        return logits
