"""The parity gate's arithmetic: agreement, span Jaccard, cosines, floors per precision."""

from __future__ import annotations

import numpy as np

from textlens.client.results import Entity
from textlens.server.inference.parity import compare


def test_label_agreement_floors_differ_by_precision() -> None:
    ref = [np.array([0.9, 0.1])] * 100
    cand = [np.array([0.9, 0.1])] * 98 + [np.array([0.1, 0.9])] * 2  # 98% agree
    assert compare("labels", "int8", ref, cand).passed  # needs 0.97
    bf16 = compare("labels", "bfloat16", ref, cand)  # needs 0.99
    assert not bf16.passed and bf16.value == 0.98
    assert "label_agreement 0.9800 (needs >= 0.99)" in bf16.describe()


def test_span_jaccard_counts_boundaries_and_labels() -> None:
    a = Entity("Tim Cook", "PER", 0, 8, 0.9)
    b = Entity("Apple", "ORG", 13, 18, 0.9)
    shifted = Entity("Tim", "PER", 0, 3, 0.9)
    assert compare("spans", "int8", [[a, b]], [[a, b]]).value == 1.0
    result = compare("spans", "int8", [[a, b]], [[shifted, b]])
    assert result.value == 1 / 3 and not result.passed
    assert compare("spans", "int8", [[]], [[]]).value == 1.0


def test_vectors_need_mean_and_worst_cosine() -> None:
    rng = np.random.default_rng(0)
    ref = list(rng.normal(size=(50, 8)))
    close = [v + rng.normal(scale=1e-3, size=8) for v in ref]
    assert compare("vectors", "int8", ref, close).passed
    one_bad = [*close[:-1], -ref[-1]]  # mean still high, one vector flipped
    result = compare("vectors", "int8", ref, one_bad)
    assert not result.passed and result.worst is not None and result.worst < 0
