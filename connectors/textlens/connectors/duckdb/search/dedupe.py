"""Near-duplicate groups: texts whose embeddings are within a cosine threshold, transitively.

Exact: every pair is compared (a blocked matrix product, so memory stays at
`BLOCK` x n floats), identical texts are folded first by their hash so a story
syndicated fifty times costs one row, and groups are the connected components of
the "cosine >= threshold" graph (union-find), so the answer does not depend on the
order rows come in. Used by the SQL `near_duplicates()` and `textlens monitor --dedupe`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from textlens.contract.limits import NEAR_DUPLICATE_THRESHOLD

#: Rows compared against all the others per matrix product.
BLOCK = 2048
#: The default cosine above which two texts count as copies (docs/search.md, "Near-duplicates").
DEFAULT_THRESHOLD = NEAR_DUPLICATE_THRESHOLD


def check_threshold(threshold: float) -> float:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"a near-duplicate threshold is a cosine in (0, 1], not {threshold!r}")
    return float(threshold)


def _unit(vectors: np.ndarray) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = int(self.parent[root])
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, int(self.parent[i])
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_labels(
    vectors: np.ndarray, threshold: float, keys: Sequence[object] | None = None
) -> np.ndarray:
    """A group number per row: rows in one group are near-copies (cosine >= threshold,
    transitively). Rows with equal `keys` (e.g. text hashes) are one group whatever their
    vectors. Group numbers are the smallest row index of the group."""
    check_threshold(threshold)
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    uf = _UnionFind(n)
    representatives = np.arange(n)
    if keys is not None:
        first: dict[object, int] = {}
        for i, key in enumerate(keys):
            j = first.setdefault(key, i)
            if j != i:
                uf.union(j, i)
        representatives = np.array(sorted(first.values()), dtype=np.int64)
    unit = _unit(np.asarray(vectors)[representatives])
    # float32 products may put an exact copy at 0.99999994: compare with a hair of slack.
    cut = np.float32(threshold) - np.float32(1e-6)
    for start in range(0, len(unit), BLOCK):
        block = unit[start : start + BLOCK] @ unit[start:].T
        rows, cols = np.nonzero(block >= cut)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a, b = start + r, start + c
            if b > a:
                uf.union(int(representatives[a]), int(representatives[b]))
    return np.array([uf.find(i) for i in range(n)], dtype=np.int64)


def groups(
    ids: Sequence[object],
    vectors: np.ndarray,
    threshold: float,
    keys: Sequence[object] | None = None,
) -> list[list[object]]:
    """The groups of two or more near-copies, as lists of ids in input order; groups
    ordered by their first row."""
    labels = group_labels(vectors, threshold, keys)
    members: dict[int, list[object]] = {}
    for label, ident in zip(labels.tolist(), ids, strict=True):
        members.setdefault(label, []).append(ident)
    return [members[label] for label in sorted(members) if len(members[label]) > 1]
