"""Sentiment and NER rows of bench/peers.py: a Hugging Face `pipeline` and textlens, same texts.

Split from bench/peers.py (which runs the embeddings and prints the table);
timing helpers shared by both live here.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROUNDS = 3


def best_of(fn: Callable[[], Any], rounds: int = ROUNDS) -> tuple[float, Any]:
    """(fastest seconds, last result) of `rounds` calls."""
    best, out = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def short_sentences(reviews: Sequence[str], n: int) -> list[str]:
    """Distinct single sentences cut from the reviews (the short-row case)."""
    seen: dict[str, None] = {}
    for review in reviews:
        for part in re.split(r"(?<=[.!?])\s+", review):
            if len(part) > 3:
                seen.setdefault(part, None)
    return list(seen)[:n]


def sql_rate(con: Any, backend: Any, function: str, texts: Sequence[str]) -> tuple[float, Any]:
    """rows/s of `SELECT function(review)` over `texts`, each round with an empty cache."""
    import pyarrow as pa

    from textlens.connectors.duckdb import register

    con.register("_peer_rows", pa.table({"id": range(len(texts)), "review": list(texts)}))
    con.execute("CREATE OR REPLACE TABLE peer_rows AS SELECT * FROM _peer_rows ORDER BY id")
    con.unregister("_peer_rows")

    def run() -> Any:
        with register(con, backend=backend):
            return con.execute(f"SELECT {function}(review) FROM peer_rows ORDER BY id").fetchall()

    with register(con, backend=backend):
        con.execute(f"SELECT {function}(review) FROM peer_rows LIMIT 64").fetchall()
    seconds, rows = best_of(run)
    return len(texts) / seconds, [r[0] for r in rows]


class Span:
    """An entity span from a pipeline, shaped like textlens' (start, end, label)."""

    def __init__(self, start: int, end: int, label: str) -> None:
        self.start, self.end, self.label = start, end, label


def accuracy_by_source(
    predict: Callable[[list[str]], list[str]], by_source: dict[str, list[tuple[str, str]]]
) -> dict[str, float]:
    """Accuracy per held-out source (sources with 300+ rows; fewer is noise) and the worst."""
    out = {}
    for source, rows in by_source.items():
        if len(rows) < 300:
            continue
        labels = predict([t for t, _ in rows])
        out[source] = float(np.mean([p == g for p, (_, g) in zip(labels, rows, strict=True)]))
    return out


def summary(acc: dict[str, float]) -> dict[str, float]:
    if not acc:
        return {}
    worst = min(acc, key=lambda s: acc[s])
    return {
        "worst_source_accuracy": round(acc[worst] * 100, 2),
        "worst_source": worst,  # type: ignore[dict-item]
        "mean_source_accuracy": round(float(np.mean(list(acc.values()))) * 100, 2),
    }


def show(row: dict[str, Any]) -> dict[str, Any]:
    """Print a result row as it is measured (the table comes at the end)."""
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def agreement(a: Sequence[Any], b: Sequence[Any]) -> float:
    return round(float(np.mean([x == y for x, y in zip(a, b, strict=True)])), 4)


def sentiment_rows(
    auto: Any, pinned: Any, con: Any, reviews: list[str], data: Path | None, path: str
) -> list[dict[str, Any]]:
    from transformers import pipeline

    from textlens.connectors.duckdb import EmbeddedBackend
    from textlens.samples.reviews import review_texts

    loaded = pinned.registry.get("sentiment").model.loaded
    classify = pipeline(
        "text-classification", model=loaded.network.hf, tokenizer=loaded.tokenizer, device="cpu"
    )

    def hf(texts: list[str]) -> list[str]:
        out = classify(texts, batch_size=32, truncation=True, max_length=loaded.max_length)
        return [str(o["label"]) for o in out]

    def served(analyzer: Any) -> Callable[[list[str]], list[str]]:
        return lambda texts: [
            getattr(r, "label", None) for r in analyzer.sentiment(texts, "").result()
        ]

    by_source: dict[str, list[tuple[str, str]]] = {}
    if data is not None:
        from textlens.server.training import sentiment_mix

        by_source = sentiment_mix.rows_by_source(sentiment_mix.valid_sql(data))
    short = short_sentences(review_texts(len(reviews) * 2, seed=8), len(reviews))
    long = [t for t in review_texts(len(reviews) * 6, seed=9) if len(t) >= 220][: len(reviews) // 2]
    paths: list[tuple[str, Callable[[list[str]], list[str]]]] = [
        ("HF pipeline (torch/float32)", hf),
        ("textlens Analyzer.sentiment (torch/float32)", served(pinned)),
        (f"textlens Analyzer.sentiment ({path})", served(auto)),
    ]
    accuracy = {name: summary(accuracy_by_source(fn, by_source)) for name, fn in paths}
    out = []
    for label, texts in (("short sentences", short), ("long reviews", long)):
        results: dict[str, tuple[float, list[str]]] = {}
        for name, fn in paths:
            fn(texts[:64])
            seconds, labels = best_of(lambda fn=fn, texts=texts: fn(texts))
            results[name] = (len(texts) / seconds, labels)
        rate, labels = sql_rate(con, EmbeddedBackend(auto), "sentiment", texts)
        results[f"textlens SELECT sentiment() ({path})"] = (rate, labels)
        truth = results["textlens Analyzer.sentiment (torch/float32)"][1]
        for name, (rate, labels) in results.items():
            row = {"task": "sentiment", "texts": f"{label} ({len(texts)})", "path": name}
            row |= {"rows_per_s": round(rate, 1), "label_agreement": agreement(labels, truth)}
            out.append(
                show(row | accuracy.get(name, accuracy[f"textlens Analyzer.sentiment ({path})"]))
            )
    return out


def ner_rows(
    auto: Any, pinned: Any, con: Any, data: Path | None, n: int, path: str
) -> list[dict[str, Any]]:
    from transformers import pipeline

    from textlens.connectors.duckdb import EmbeddedBackend
    from textlens.server.inference.parity import span_jaccard
    from textlens.server.inference.probe_set import probe_texts
    from textlens.server.training.scores import span_f1_report, word_tags

    gold: list[tuple[list[str], list[str]]] = []
    if data is not None and (data / "conll2003_dev.conll").is_file():
        from textlens.server.training.data import read_conll

        gold = read_conll(data / "conll2003_dev.conll")[:n]
        texts = [" ".join(words) for words, _ in gold]
    else:
        texts = list(probe_texts())[:n]
    loaded = pinned.registry.get("ner").model.loaded
    tag = pipeline(
        "token-classification",
        model=loaded.network.hf,  # without the casing embedding: what a pipeline can load
        tokenizer=loaded.tokenizer,
        aggregation_strategy="simple",
        device="cpu",
    )

    def hf(batch: list[str]) -> list[list[Span]]:
        out = tag(batch, batch_size=32)
        return [[Span(e["start"], e["end"], e["entity_group"]) for e in ents] for ents in out]

    def served(analyzer: Any) -> Callable[[list[str]], list[Any]]:
        # A text screened out (another language, no text) has no entities.
        return lambda batch: [
            r if isinstance(r, list) else [] for r in analyzer.entities(batch, "").result()
        ]

    results: dict[str, tuple[float, list[Any]]] = {}
    for name, fn in (
        ("HF pipeline (torch/float32, no casing embedding)", hf),
        ("textlens Analyzer.entities (torch/float32)", served(pinned)),
        (f"textlens Analyzer.entities ({path})", served(auto)),
    ):
        fn(texts[:64])
        seconds, spans = best_of(lambda fn=fn: fn(texts))
        results[name] = (len(texts) / seconds, spans)
    rate, dicts = sql_rate(con, EmbeddedBackend(auto), "entities", texts)
    spans = [[Span(e["start"], e["end"], e["label"]) for e in ents or []] for ents in dicts]
    results[f"textlens SELECT entities() ({path})"] = (rate, spans)
    truth = results["textlens Analyzer.entities (torch/float32)"][1]
    out = []
    for name, (rate, spans) in results.items():
        where = "CoNLL-2003 dev" if gold else "probe texts"
        row: dict[str, Any] = {"task": "ner", "texts": f"{where} ({len(texts)})"}
        row |= {"path": name, "rows_per_s": round(rate, 1)}
        row["span_jaccard"] = round(span_jaccard(truth, spans), 4)
        if gold:
            preds = [word_tags(w, s) for (w, _), s in zip(gold, spans, strict=True)]
            row["conll_f1"] = round(span_f1_report([t for _, t in gold], preds)["f1"] * 100, 2)
        out.append(show(row))
    return out
