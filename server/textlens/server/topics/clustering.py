"""Embeddings → UMAP → HDBSCAN / k-means → topic centroids and an outlier threshold.

The clustering runs on at most `max_cluster_docs` documents (a seeded sample):
UMAP and HDBSCAN grow faster than linearly, the embeddings do not, and a
sample of tens of thousands already finds every topic big enough to watch.
Every document is then assigned the way the served model will assign it
(nearest centroid, `outlier` under the threshold), so the sizes in the report
are what `classify()` returns on the same texts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

#: UMAP target dimension for clustering (BERTopic's default).
REDUCED_DIM = 5
NEIGHBOURS = 15


@dataclass(frozen=True)
class ClusterConfig:
    """What decides the topics; all of it is recorded in the model."""

    topics: int | None = None  # None: HDBSCAN finds the count ("auto")
    seed: int = 42
    min_topic_size: int | None = None  # auto: 1% of the clustered documents, at least 10
    max_topics: int = 40
    max_cluster_docs: int = 50_000
    #: Share of each topic's own documents allowed under the threshold (the outlier cut).
    outlier_quantile: float = 0.05


@dataclass
class Clusters:
    """Centroids (unit rows), the outlier threshold, and the fit documents' topics."""

    centroids: np.ndarray
    threshold: float
    assigned: np.ndarray  # per document: topic index, len(centroids) = outlier
    clustered: np.ndarray  # indices of the documents that were clustered
    min_topic_size: int


def _reduce(x: np.ndarray, dim: int, seed: int) -> np.ndarray:
    import warnings

    import umap

    neighbours = min(NEIGHBOURS, max(2, len(x) - 1))
    reducer = umap.UMAP(
        n_neighbors=neighbours,
        n_components=dim,
        min_dist=0.0,
        metric="cosine",
        random_state=seed,  # also makes UMAP single-threaded: the same seed, the same layout
        low_memory=True,
        # Not the default spectral start: its eigensolver gave other layouts (and so other
        # topics) from process to process for the same input and seed; a seeded random
        # start is reproducible, and the optimisation makes up the difference.
        init="random",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "n_jobs overridden by random_state"
        out: np.ndarray = reducer.fit_transform(x)
    return out


def _cluster(reduced: np.ndarray, config: ClusterConfig, min_size: int) -> np.ndarray:
    """HDBSCAN's clusters (-1 = noise); k-means only when K is asked and HDBSCAN finds fewer.

    A fixed count is reached as BERTopic's `nr_topics` does, by merging
    HDBSCAN's topics afterwards (`_merge_smallest`): k-means straight on the
    reduced space cuts dense topics in half to balance sizes.
    """
    import hdbscan

    clusterer = hdbscan.HDBSCAN(
        min_cluster_size=min_size, metric="euclidean", cluster_selection_method="eom"
    )
    found: np.ndarray = clusterer.fit_predict(reduced)
    if config.topics is not None and len(set(found.tolist()) - {-1}) < config.topics:
        from sklearn.cluster import KMeans

        k = min(config.topics, len(reduced))
        found = KMeans(n_clusters=k, random_state=config.seed, n_init=10).fit_predict(reduced)
    return found


def _centroids(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, list[int]]:
    ids = sorted(int(k) for k in set(labels.tolist()) if k >= 0)
    rows = [x[labels == k].mean(axis=0) for k in ids]
    c = np.stack(rows) if rows else np.zeros((0, x.shape[1]), dtype=np.float32)
    c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    return c.astype(np.float32), ids


def _merge_smallest(x: np.ndarray, labels: np.ndarray, max_topics: int) -> np.ndarray:
    """Fold the smallest topic into its most similar one until at most `max_topics` remain."""
    labels = labels.copy()
    while True:
        centroids, ids = _centroids(x, labels)
        if len(ids) <= max_topics:
            return labels
        sizes = [int((labels == k).sum()) for k in ids]
        small = int(np.argmin(sizes))
        sims = centroids @ centroids[small]
        sims[small] = -np.inf
        labels[labels == ids[small]] = ids[int(np.argmax(sims))]


def fit_clusters(x: np.ndarray, config: ClusterConfig) -> Clusters:
    """Topics of unit embeddings `x` (documents in content order, so the seed decides alone)."""
    from textlens.server.topics.network import assign

    n = len(x)
    if n < 3:
        raise ValueError(f"topics need at least 3 distinct texts, got {n}")
    rng = np.random.default_rng(config.seed)
    clustered = (
        np.sort(rng.choice(n, size=config.max_cluster_docs, replace=False))
        if n > config.max_cluster_docs
        else np.arange(n)
    )
    sample = x[clustered]
    min_size = config.min_topic_size or max(10, len(sample) // 100)
    min_size = min(min_size, max(2, len(sample) // 2))
    log.info("reducing %d embeddings to %d dimensions (UMAP)", len(sample), REDUCED_DIM)
    reduced = _reduce(sample, REDUCED_DIM, config.seed)
    labels = _cluster(reduced, config, min_size)
    if not (labels >= 0).any():
        raise ValueError(
            f"no topic of at least {min_size} documents was found in {len(sample)} texts; "
            "lower --min-topic-size or give --topics K"
        )
    labels = _merge_smallest(sample, labels, config.topics or config.max_topics)
    centroids, ids = _centroids(sample, labels)
    own = np.concatenate([sample[labels == k] @ centroids[i] for i, k in enumerate(ids)])
    threshold = float(np.quantile(own, config.outlier_quantile))
    assigned = assign(x, centroids, threshold)
    # Topics by size, largest first, so topic 0 is the biggest (as BERTopic numbers them).
    sizes = np.bincount(assigned, minlength=len(centroids) + 1)[: len(centroids)]
    order = np.lexsort((np.arange(len(centroids)), -sizes))
    keep = [int(i) for i in order if sizes[i] > 0]
    centroids = centroids[keep]
    assigned = assign(x, centroids, threshold)
    return Clusters(centroids, threshold, assigned, clustered, min_size)


def map_coordinates(
    x: np.ndarray, seed: int, max_points: int = 5000
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, 2-D UMAP coordinates) of up to `max_points` documents, for the topic map."""
    rng = np.random.default_rng(seed + 1)
    idx = (
        np.sort(rng.choice(len(x), size=max_points, replace=False))
        if len(x) > max_points
        else np.arange(len(x))
    )
    return idx, _reduce(x[idx], 2, seed)
