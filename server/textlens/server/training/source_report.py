"""Validation numbers per data source, for models trained on a mix of sources.

One overall accuracy hides a model that is good on reviews and poor on
finance headlines; the model cards report each source on its own: accuracy,
macro-F1 over the classes the source has, neutral recall, and for two-class
sources (SST-2) the accuracy of the score's sign, P(positive) - P(negative),
which is how a three-class model is compared with a two-class one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textlens.server.training.scores import classification_report


def source_metrics(
    gold: Sequence[str], probs: Sequence[Sequence[float]], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1 (classes present in `gold`), neutral recall and sign accuracy."""
    pred = [labels[max(range(len(p)), key=lambda k: p[k])] for p in probs]
    # A two-class model scored on three-class rows: its missing class is never predicted.
    every = [*labels, *sorted(set(gold) - set(labels))]
    report = classification_report(gold, pred, every)
    present = [c for c in every if report["per_class"][c]["support"]]
    out: dict[str, Any] = {
        "rows": len(gold),
        "accuracy": report["accuracy"],
        "macro_f1": sum(report["per_class"][c]["f1"] for c in present) / max(1, len(present)),
        "per_class": {c: report["per_class"][c] for c in present},
    }
    if "neutral" in present:
        out["neutral_recall"] = report["per_class"]["neutral"]["recall"]
    if set(gold) <= {"positive", "negative"} and {"positive", "negative"} <= set(labels):
        pos, neg = labels.index("positive"), labels.index("negative")
        signs = ["positive" if p[pos] - p[neg] > 0 else "negative" for p in probs]
        out["sign_accuracy"] = sum(s == g for s, g in zip(signs, gold, strict=True)) / max(
            1, len(gold)
        )
    return out


def per_source_report(
    model_dir: Path | str, rows_by_source: dict[str, list[tuple[Any, str]]], device: str = "cpu"
) -> dict[str, Any]:
    """`source_metrics` of a model directory on each source's (text, label) rows."""
    from textlens.server.runtime.devices import resolve_device
    from textlens.server.runtime.loading import build_network
    from textlens.server.training.predict import predict_probs

    network, tokenizer, id2label, _version, max_length = build_network(str(model_dir), "sentiment")
    dev = resolve_device(device)
    network.to(dev).eval()
    labels = [id2label[i] for i in sorted(id2label)]
    out: dict[str, Any] = {}
    for source, rows in rows_by_source.items():
        if not rows:
            continue
        probs = predict_probs(network, tokenizer, [t for t, _ in rows], max_length, dev)
        out[source] = source_metrics([g for _, g in rows], probs.tolist(), labels)
    return out


def per_source_table(by_source: dict[str, Any]) -> str:
    """A Markdown table of `per_source_report`."""
    lines = [
        "| source | rows | accuracy | macro-F1 | neutral recall | sign accuracy |",
        "|---|---|---|---|---|---|",
    ]

    def cell(m: dict[str, Any], key: str) -> str:
        return f"{m[key]:.4f}" if key in m else "–"

    for source, m in by_source.items():
        lines.append(
            f"| {source} | {m['rows']} | {cell(m, 'accuracy')} | {cell(m, 'macro_f1')} | "
            f"{cell(m, 'neutral_recall')} | {cell(m, 'sign_accuracy')} |"
        )
    return "\n".join(lines)
