"""`textlens topics fit`: rows from SQL or a file → a registered topic classifier + report.

The texts are de-duplicated and put in content order before anything is
seeded, so the same rows with the same seed give the same topics however the
query orders them, and the same model files (the version is their hash:
nothing time-dependent is written into `textlens_model.json`). A failed fit
leaves the registry untouched: the model is built in its staging area.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textlens.server.topics.clustering import ClusterConfig, Clusters, fit_clusters, map_coordinates
from textlens.server.topics.embeddings import embed_texts, load_encoder
from textlens.server.topics.keywords import TOP_WORDS, class_tfidf, labels, npmi_coherence
from textlens.server.topics.network import (
    KIND,
    OUTLIER_LABEL,
    SCALE,
    apply_masks,
    compile_masks,
)
from textlens.server.training.sources import Source, TrainingDataError, fingerprint, read_table

log = logging.getLogger(__name__)

#: Representative texts per topic in the report (closest to the centroid).
REPRESENTATIVES = 3
#: Documents the silhouette is computed on (it is quadratic).
SILHOUETTE_SAMPLE = 5000


@dataclass
class TopicsJob:
    """One fit: where the texts come from, how to cluster, where the model goes."""

    data: Source
    text_column: str = "text"
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    embed_source: str = "builtin:minilm"
    max_length: int | None = None
    register: str | None = None
    registry: Path | None = None
    out: Path | None = None
    progress: bool = True
    command: str = ""
    #: (regex, replacement) rules applied before embedding, here and when served.
    masks: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class TopicsResult:
    """Where the model was written and what the report says."""

    path: Path
    version: str | None
    report: dict[str, Any]


def read_texts(job: TopicsJob) -> tuple[list[str], Counter[str], dict[str, Any]]:
    """Distinct non-empty texts in content order, their row counts, and the data fingerprint."""
    columns, rows = read_table(job.data)
    if job.text_column not in columns:
        raise TrainingDataError(
            f"{job.data.describe()} has no column {job.text_column!r} (columns: "
            f"{', '.join(columns)}); name the texts `AS text` or pass --text-column"
        )
    i = columns.index(job.text_column)
    values = [r[i] for r in rows]
    wrong = [type(v).__name__ for v in values if v is not None and not isinstance(v, str)]
    if wrong:
        raise TrainingDataError(
            f"column {job.text_column!r} holds {wrong[0]} values, not text; cast it (::VARCHAR)"
        )
    counts = Counter(v for v in values if isinstance(v, str) and v.strip())
    if len(counts) < 3:
        raise TrainingDataError(
            f"{job.data.describe()} gave {len(counts)} distinct non-empty texts; topics need more"
        )
    texts = sorted(counts, key=lambda t: hashlib.sha256(t.encode("utf-8")).hexdigest())
    return texts, counts, fingerprint(texts, job.data)


def _silhouette(x: np.ndarray, assigned: np.ndarray, n_topics: int, seed: int) -> float | None:
    from sklearn.metrics import silhouette_score

    inside = np.flatnonzero(assigned < n_topics)
    if n_topics < 2 or len(set(assigned[inside].tolist())) < 2:
        return None
    size = min(SILHOUETTE_SAMPLE, len(inside))
    return float(
        silhouette_score(
            x[inside], assigned[inside], metric="cosine", sample_size=size, random_state=seed
        )
    )


def _topic_entries(
    texts: list[str], counts: Counter[str], x: np.ndarray, clusters: Clusters, names: list[str],
    keywords: list[list[tuple[str, float]]], coherence: list[float],
) -> list[dict[str, Any]]:  # fmt: skip
    weights = np.array([counts[t] for t in texts])
    k = len(clusters.centroids)
    entries = []
    for t in range(k + 1):
        members = np.flatnonzero(clusters.assigned == t)
        entry: dict[str, Any] = {
            "id": t,
            "label": names[t],
            "size": int(weights[members].sum()),
            "distinct_texts": len(members),
        }
        if t < k:
            sims = x[members] @ clusters.centroids[t]
            best = members[np.argsort(-sims, kind="stable")[:REPRESENTATIVES]]
            entry["keywords"] = [{"word": w, "weight": round(s, 5)} for w, s in keywords[t]]
            entry["coherence_npmi"] = round(coherence[t], 4)
            entry["representative_texts"] = [texts[i] for i in best]
        entries.append(entry)
    return entries


def _save_model(
    directory: Path, job: TopicsJob, clusters: Clusters, names: list[str], max_length: int,
    data: dict[str, Any],
) -> None:  # fmt: skip
    import torch
    from safetensors.torch import save_file

    from textlens.server.runtime.artifacts import DeltaMeta, sha256_file
    from textlens.server.runtime.loading import resolve_directory, weight_files

    base_dir = resolve_directory(job.embed_source)
    meta = DeltaMeta(
        task="classify",
        kind=KIND,
        base_source=job.embed_source,
        base_sha256=sha256_file(weight_files(base_dir)[0]),
        id2label=dict(enumerate(names)),
        lora_r=0,
        lora_alpha=0.0,
        max_length=max_length,
        training={
            "method": "topics (UMAP → HDBSCAN/k-means → c-TF-IDF), nearest centroid",
            "cluster": asdict(job.cluster),
            "threshold": clusters.threshold,
            "scale": SCALE,
            "data": data,
            "command": job.command,
            "masks": [list(m) for m in job.masks],
            "libraries": _library_versions(),
        },
    )
    directory.mkdir(parents=True, exist_ok=True)
    save_file(
        {
            "centroids": torch.from_numpy(np.ascontiguousarray(clusters.centroids)),
            "threshold": torch.tensor([clusters.threshold], dtype=torch.float32),
        },
        str(directory / "delta.safetensors"),
    )
    import json

    text = json.dumps(meta.to_json(), indent=2, ensure_ascii=False) + "\n"
    (directory / "textlens_model.json").write_text(text, encoding="utf-8")


def _library_versions() -> dict[str, str]:
    import importlib.metadata as md

    return {name: md.version(name) for name in ("umap-learn", "hdbscan", "scikit-learn")}


def _stages(progress: bool, started: float) -> Callable[[str], None]:
    """Stage lines on stderr between the progress bars (what a long fit is doing now)."""

    def stage(message: str) -> None:
        log.info(message)
        if progress:
            print(f"[{time.monotonic() - started:6.0f}s] {message}", file=sys.stderr, flush=True)

    return stage


def fit_topics(job: TopicsJob, directory: Path) -> dict[str, Any]:
    """Fit and write the model, report and pictures into `directory`; return the report."""
    from textlens.server.topics.report import write_report

    started = time.monotonic()
    texts, counts, data = read_texts(job)
    stage = _stages(job.progress, started)
    stage(f"fitting topics on {len(texts):,} distinct texts ({sum(counts.values()):,} rows)")
    encoder = load_encoder(job.embed_source, job.max_length)
    masked = apply_masks(compile_masks(job.masks), texts)
    x = embed_texts(encoder, masked, progress=job.progress)
    embedded = time.monotonic()
    sample = min(len(texts), job.cluster.max_cluster_docs)
    stage(f"UMAP + HDBSCAN on {sample:,} texts (minutes for tens of thousands)")
    clusters = fit_clusters(x, job.cluster)
    stage(f"{len(clusters.centroids)} topics; labels, coherence, map and report")
    k = len(clusters.centroids)
    keywords = class_tfidf(masked, clusters.assigned, k)  # masked names are no keywords
    names = [*labels(keywords), OUTLIER_LABEL]
    names = [n if n != OUTLIER_LABEL or i == k else f"{n} (topic)" for i, n in enumerate(names)]
    coherence = npmi_coherence(keywords)
    entries = _topic_entries(texts, counts, x, clusters, names, keywords.words, coherence)
    idx, coords = map_coordinates(x, job.cluster.seed)
    _save_model(directory, job, clusters, names, encoder.loaded.max_length, data)
    silhouette = _silhouette(x, clusters.assigned, k, job.cluster.seed)
    report: dict[str, Any] = {
        "kind": "topics",
        "topics_found": k,
        "labels": names,
        "rows": sum(counts.values()),
        "distinct_texts": len(texts),
        "clustered_texts": len(clusters.clustered),
        "outlier_share": round(float(entries[-1]["size"]) / max(sum(counts.values()), 1), 4),
        "threshold": round(clusters.threshold, 5),
        "min_topic_size": clusters.min_topic_size,
        "silhouette_cosine": None if silhouette is None else round(silhouette, 4),
        "coherence_npmi": round(float(np.mean(coherence)), 4) if coherence else None,
        "top_words": TOP_WORDS,
        "topics": entries,
        "cluster": asdict(job.cluster),
        "embed_model": job.embed_source,
        "data": data,
        "seconds": {
            "embedding": round(embedded - started, 1),
            "total": round(time.monotonic() - started, 1),
        },
        "command": job.command,
    }
    write_report(directory, report, coords, clusters.assigned[idx])
    return report


def run_topics_fit(job: TopicsJob) -> TopicsResult:
    """Fit into the registry (staged, then published) or into `job.out`."""
    if job.register is None and job.out is None:
        raise TrainingDataError("say where the model goes: --register NAME or --out DIR")
    if job.register is not None:
        from textlens.server.model_store import ModelStore

        if job.registry is None:
            raise TrainingDataError("--register needs --registry DIR (or $TEXTLENS_REGISTRY)")
        store = ModelStore(job.registry)
        store.versions(job.register)  # a bad name fails now, not after the fit
        with store.staging() as staged:
            report = fit_topics(job, staged)
            version = store.publish(job.register, staged)
        return TopicsResult(store.root / job.register / version, version, report)
    assert job.out is not None
    report = fit_topics(job, job.out)
    return TopicsResult(job.out, None, report)
