"""Score a model on labelled rows exactly as training scores its validation rows.

Why apart from the pipeline: `textlens eval`, the training pipeline (is a new
version better than the one it replaces?) and the studies under `scripts/`
all score a model this one way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textlens.server.model_store import ModelStore
from textlens.server.training.sources import check_valid_labels


def resolve_model(model: str, registry: Path | None) -> str:
    """A registered name (with a registry) becomes its current version's directory."""
    if registry is not None and not Path(model).expanduser().exists():
        found = ModelStore(registry).current(model)
        if found is not None:
            return str(found[1])
    return model


def evaluate_rows(
    source: str, task: str, rows: list[Any], device: str = "auto"
) -> tuple[dict[str, Any], str]:
    """Score a model on loaded rows (text/label or words/tags) as training does; + its version."""
    from textlens.server.runtime.devices import resolve_device
    from textlens.server.runtime.loading import build_network
    from textlens.server.training.predict import predict_texts, predict_word_tags
    from textlens.server.training.scores import classification_report, span_f1_report

    network, tokenizer, id2label, version, max_length = build_network(source, task)
    dev = resolve_device(device)
    network.to(dev).eval()
    if task == "ner":
        pred = predict_word_tags(
            network, tokenizer, [w for w, _ in rows], id2label, max_length, dev
        )
        return span_f1_report([tags for _, tags in rows], pred), version
    labels = [id2label[i] for i in sorted(id2label)]
    check_valid_labels(set(labels), rows, "the evaluation rows")
    pred_labels = predict_texts(network, tokenizer, [t for t, _ in rows], id2label, max_length, dev)
    return classification_report([g for _, g in rows], pred_labels, labels), version
