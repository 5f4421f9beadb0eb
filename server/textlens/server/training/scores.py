"""Evaluation metrics: classification scores and entity-level (CoNLL) span F1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any


def classification_report(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        matrix[index[g]][index[p]] += 1
    per_class: dict[str, dict[str, float]] = {}
    for label, i in index.items():
        tp = matrix[i][i]
        predicted = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    total = len(gold)
    correct = sum(matrix[i][i] for i in range(len(labels)))
    return {
        "accuracy": correct / total if total else 0.0,
        "macro_f1": sum(c["f1"] for c in per_class.values()) / len(per_class) if per_class else 0.0,
        "per_class": per_class,
        "labels": list(labels),
        "confusion_matrix": matrix,
        "rows": total,
    }


def bio_spans(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """(start, end, type) spans of a BIO tag sequence, conlleval style.

    An I- tag that does not continue a span of its type starts a new one.
    """
    spans: set[tuple[int, int, str]] = set()
    start: int | None = None
    kind = ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, t = tag.partition("-")
        continues = prefix == "I" and start is not None and t == kind
        if start is not None and not continues:
            spans.add((start, i, kind))
            start = None
        if prefix == "B" or (prefix == "I" and not continues):
            start, kind = i, t
    return spans


def span_f1_report(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Entity-level micro P/R/F1 and per-type scores (exact span and type match)."""
    tp: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    for g_tags, p_tags in zip(gold, pred, strict=True):
        g = bio_spans(g_tags)
        p = bio_spans(p_tags)
        for s in g:
            n_gold[s[2]] += 1
        for s in p:
            n_pred[s[2]] += 1
        for s in g & p:
            tp[s[2]] += 1

    def prf(t: int, ng: int, npred: int) -> dict[str, float]:
        precision = t / npred if npred else 0.0
        recall = t / ng if ng else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": ng}

    types = sorted(set(n_gold) | set(n_pred))
    overall = prf(sum(tp.values()), sum(n_gold.values()), sum(n_pred.values()))
    return {**overall, "per_type": {t: prf(tp[t], n_gold[t], n_pred[t]) for t in types}}


def word_tags(tokens: Sequence[str], entities: Sequence[Any]) -> list[str]:
    """BIO tags of space-joined `tokens` from served entity spans (objects with start, end,
    label): how served NER is scored against word-tagged gold (CoNLL)."""
    starts, pos = [], 0
    for tok in tokens:
        starts.append(pos)
        pos += len(tok) + 1
    tags = ["O"] * len(tokens)
    for ent in entities:
        inside = [i for i, s in enumerate(starts) if s >= ent.start and s < ent.end]
        for k, i in enumerate(inside):
            tags[i] = ("B-" if k == 0 else "I-") + ent.label
    return tags
