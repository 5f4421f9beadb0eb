"""The parity gate: a candidate engine against float32 torch on the probe set.

What is compared is what users see: labels for the classifiers, entity spans
for NER, vectors for embeddings. Thresholds are per precision: bf16/fp16 must
agree with fp32 on 99% of labels (spans), int8 on 97%; embeddings need a mean
cosine of 0.99 and no probe under 0.95.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Minimum label agreement (entity-span Jaccard for NER) by candidate dtype.
AGREEMENT_FLOOR = {"bfloat16": 0.99, "float16": 0.99, "int8": 0.97, "float32": 0.99}
MEAN_COSINE_FLOOR = 0.99
MIN_COSINE_FLOOR = 0.95


@dataclass(frozen=True)
class Parity:
    metric: str  # label_agreement | span_jaccard | mean_cosine
    value: float
    floor: float
    worst: float | None = None  # embeddings: the lowest cosine of any probe
    worst_floor: float | None = None

    @property
    def passed(self) -> bool:
        if self.value < self.floor:
            return False
        return self.worst is None or self.worst_floor is None or self.worst >= self.worst_floor

    def describe(self) -> str:
        text = f"{self.metric} {self.value:.4f} (needs >= {self.floor:g})"
        if self.worst is not None:
            text += f", lowest {self.worst:.4f} (needs >= {self.worst_floor:g})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def label_agreement(reference: Sequence[np.ndarray], candidate: Sequence[np.ndarray]) -> float:
    same = [
        int(np.argmax(a)) == int(np.argmax(b)) for a, b in zip(reference, candidate, strict=True)
    ]
    return float(np.mean(same)) if same else 1.0


def span_jaccard(reference: Sequence[Sequence[Any]], candidate: Sequence[Sequence[Any]]) -> float:
    """|A ∩ B| / |A ∪ B| over (probe, start, end, label) of every entity."""
    a = {(i, e.start, e.end, e.label) for i, ents in enumerate(reference) for e in ents}
    b = {(i, e.start, e.end, e.label) for i, ents in enumerate(candidate) for e in ents}
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def cosines(reference: Sequence[np.ndarray], candidate: Sequence[np.ndarray]) -> np.ndarray:
    r, c = np.stack(reference).astype(np.float64), np.stack(candidate).astype(np.float64)
    num = (r * c).sum(axis=1)
    den = np.linalg.norm(r, axis=1) * np.linalg.norm(c, axis=1)
    out: np.ndarray = num / np.maximum(den, 1e-12)
    return out


def neighbour_overlap(
    reference: np.ndarray, candidate: np.ndarray, queries: int = 200, k: int = 10
) -> float:
    """What search sees: for each of the first `queries` texts, the share of its k nearest
    texts (cosine, itself excluded) under `reference` that `candidate` also ranks in its k."""

    def top(vectors: np.ndarray) -> np.ndarray:
        v = np.asarray(vectors, dtype=np.float64)
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        n = min(queries, len(v))
        sims = v[:n] @ v.T
        sims[np.arange(n), np.arange(n)] = -np.inf
        out: np.ndarray = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return out

    a, b = top(reference), top(candidate)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def compare(kind: str, dtype: str, reference: Sequence[Any], candidate: Sequence[Any]) -> Parity:
    """`kind` is `labels`, `spans` or `vectors` (what a task's probe outputs are)."""
    floor = AGREEMENT_FLOOR.get(dtype, 0.99)
    if kind == "spans":
        return Parity("span_jaccard", span_jaccard(reference, candidate), floor)
    if kind == "vectors":
        cos = cosines(reference, candidate)
        return Parity(
            "mean_cosine",
            float(cos.mean()),
            MEAN_COSINE_FLOOR,
            worst=float(cos.min()),
            worst_floor=MIN_COSINE_FLOOR,
        )
    return Parity("label_agreement", label_agreement(reference, candidate), floor)
