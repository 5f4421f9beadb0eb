"""Validation accuracy of every engine path of the default models, per source.

    python scripts/backend_accuracy.py [--data ../shared/data] [--json out.json]

For each default model, each (backend, dtype[, int8 recipe]) this machine can
run is put under the served model in turn and the model's held-out rows are
run through the Analyzer (as served: sentiment by sentence): sentiment per
source (accuracy, macro-F1), aspect per source (accuracy, macro-F1 on the
held-out (text, target) rows of `sentiment_mix.aspect_mix_sql`), NER (entity F1 on CoNLL-2003 dev, texts joined by
spaces and the served spans mapped back to words), embed (cosine to float32
on the sentiment validation texts). Prints a table and the deltas against
torch/float32; the model cards quote it, and `validation_gate.json` next to
each model records which paths stay within 0.5 points on every source with
300+ held-out rows (`auto` skips the others).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

#: Largest accuracy / F1 loss (points) a path may cost and still be picked by `auto`.
MAX_LOSS_POINTS = 0.5
#: Embeddings: the share of a text's 10 nearest validation texts (float32) a path must keep
#: on average, besides a mean cosine of 0.99: search and recommendations rank by neighbours.
MIN_TOP10_OVERLAP = 0.9
#: Sources with fewer held-out rows are measured and printed but do not gate: on 92
#: rows one flipped answer moves accuracy by 1.1 points, which is noise, not a cost.
GATE_MIN_ROWS = 300


def _gates(metric: str, rows: dict[str, int]) -> bool:
    """Whether `metric` ("<source>_accuracy", "<source>_macro_f1", ...) has rows enough to gate."""
    source = metric.removesuffix("_accuracy").removesuffix("_macro_f1")
    return rows.get(source, GATE_MIN_ROWS) >= GATE_MIN_ROWS


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--write-gates", action="store_true", help="write models/*/validation_gate.json"
    )
    parser.add_argument(
        "--models", nargs="+", default=None, help="default models to measure (default: all)"
    )
    args = parser.parse_args()

    import duckdb

    from textlens.server.assembly import load_models
    from textlens.server.inference.candidates import REFERENCE, cpu_candidates
    from textlens.server.inference.measurement import build_engine
    from textlens.server.inference.parity import cosines, neighbour_overlap
    from textlens.server.runtime.analyzer import Analyzer
    from textlens.server.runtime.hardware import cpu_info
    from textlens.server.settings import default_models
    from textlens.server.training import sentiment_mix
    from textlens.server.training.data import read_conll
    from textlens.server.training.scores import (
        classification_report,
        span_f1_report,
        word_tags,
    )
    from textlens.server.training.source_report import source_metrics

    cpu = cpu_info()
    candidates, notes = cpu_candidates("auto", "auto", cpu)
    # The model's accuracy on every held-out row: the language policy would leave out the
    # few English rows the detector reads as another language (docs/language.md).
    pinned = [
        s.model_copy(update={"backend": "torch", "dtype": "float32", "other_languages": "score"})
        for s in default_models()
        if args.models is None or s.name in args.models
    ]
    registry = load_models(pinned)
    analyzer = Analyzer(registry)
    by_source = sentiment_mix.rows_by_source(sentiment_mix.valid_sql(args.data))
    aspect_by_source: dict[str, list[tuple[str, str, str]]] = {}
    for text, target, label, source in duckdb.sql(
        sentiment_mix.aspect_mix_sql(args.data, "valid")
    ).fetchall():
        aspect_by_source.setdefault(source, []).append((text, target, label))
    sizes = {s: len(r) for s, r in by_source.items()}
    aspect_sizes = {s: len(r) for s, r in aspect_by_source.items()}
    dev = read_conll(args.data / "conll2003_dev.conll")
    embed_texts = [t for rows in by_source.values() for t, _ in rows][:2000]
    results: dict[str, dict[str, Any]] = {}
    #: model -> source -> metrics of the reference path (the card's "As served" table).
    served_scores: dict[str, dict[str, Any]] = {}
    reference_vectors = None
    print(f"CPU flags: {' '.join(cpu.shown_flags())}; {'; '.join(notes)}", flush=True)
    for name, served in analyzer.registry.models.items():
        task = served.spec.task
        own = served.model.loaded.engine
        for cand in candidates:
            served.model.loaded.engine = (
                own if cand == REFERENCE else build_engine(served.model, cand, registry.context)
            )
            key = f"{name} {cand.name}"
            row: dict[str, Any] = {"model": name, "task": task, "path": cand.name, "rows": {}}
            if task == "sentiment":
                for source, rows in by_source.items():
                    out = analyzer.sentiment([t for t, _ in rows], name).result(timeout=3600)
                    labels = served.model.labels
                    probs = [[r.probabilities[k] for k in labels] for r in out]
                    m = source_metrics([g for _, g in rows], probs, labels)
                    row[f"{source}_accuracy"] = m["accuracy"]
                    row[f"{source}_macro_f1"] = m["macro_f1"]
                    if cand == REFERENCE:
                        served_scores.setdefault(name, {})[source] = m
                row["rows"] = sizes
            elif task == "aspect":
                for source, arows in aspect_by_source.items():
                    out = analyzer.aspect_sentiment(
                        [r[0] for r in arows], [r[1] for r in arows], name
                    ).result(timeout=3600)
                    # A target the text never mentions gets no answer: count it as neutral.
                    preds = [r.label if r is not None else "neutral" for r in out]
                    gold = [r[2] for r in arows]
                    present = [c for c in served.model.labels if c in gold]
                    rep = classification_report(gold, preds, served.model.labels)
                    if cand == REFERENCE:
                        served_scores.setdefault(name, {})[source] = aspect_metrics(
                            rep, present, [r is None for r in out]
                        )
                    row[f"{source}_accuracy"] = rep["accuracy"]
                    # Macro-F1 over the classes the source has (self-labelled posts have
                    # no neutral): an absent class would add a constant zero.
                    row[f"{source}_macro_f1"] = sum(
                        rep["per_class"][c]["f1"] for c in present
                    ) / len(present)
                row["rows"] = aspect_sizes
            elif task == "ner":
                texts = [" ".join(w) for w, _ in dev]
                ents = analyzer.entities(texts, name).result(timeout=3600)
                preds = [word_tags(w, e) for (w, _), e in zip(dev, ents, strict=True)]
                row["conll_dev_f1"] = span_f1_report([t for _, t in dev], preds)["f1"]
            elif task == "embed":
                vectors = list(analyzer.embed(embed_texts, name).result(timeout=3600))
                if reference_vectors is None:
                    reference_vectors = vectors
                cos = cosines(reference_vectors, vectors)
                row["mean_cosine"], row["min_cosine"] = float(cos.mean()), float(cos.min())
                row["top10_overlap"] = neighbour_overlap(
                    np.stack(reference_vectors), np.stack(vectors)
                )
            results[key] = row
            print(
                json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}),
                flush=True,
            )
        served.model.loaded.engine = own
    analyzer.close()
    registry.close()
    deltas = {}
    for key, row in results.items():
        ref = results[f"{row['model']} {REFERENCE.name}"]
        metrics = [k for k in row if k.endswith(("accuracy", "_f1")) and _gates(k, row["rows"])]
        worst = min((row[k] - ref[k] for k in metrics), default=0.0) * 100
        if row["task"] == "embed":
            good = row["mean_cosine"] >= 0.99 and row["top10_overlap"] >= MIN_TOP10_OVERLAP
            worst = 0.0 if good else -100.0
        deltas[key] = round(worst, 2)
    print("\nworst metric delta against torch/float32 (points):")
    for key, d in deltas.items():
        print(f"  {key:45} {d:+.2f}  {'ok' if d >= -MAX_LOSS_POINTS else 'auto must not pick it'}")
    report = {"cpu_flags": cpu.shown_flags(), "results": results, "worst_delta_points": deltas}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.write_gates:
        write_gates(results, deltas, served_scores, cpu.shown_flags())
    return 0


def aspect_metrics(
    rep: dict[str, Any], present: list[str], unanswered: list[bool]
) -> dict[str, Any]:
    """One source's served aspect scores, in `source_metrics`' shape (for the card's table)."""
    m: dict[str, Any] = {
        "rows": len(unanswered),
        "accuracy": rep["accuracy"],
        "macro_f1": sum(rep["per_class"][c]["f1"] for c in present) / len(present),
        "per_class": {c: rep["per_class"][c] for c in present},
        "unmentioned": sum(unanswered),
    }
    if "neutral" in present:
        m["neutral_recall"] = rep["per_class"]["neutral"]["recall"]
    return m


def write_gates(
    results: dict[str, dict[str, Any]],
    deltas: dict[str, float],
    served_scores: dict[str, dict[str, Any]],
    cpu_flags: list[str],
) -> None:
    """`validation_gate.json` (and the served per-source scores) next to each model's weights."""
    from textlens.server.assembly import load_models
    from textlens.server.inference.validation_gate import BASE_GATE_DIR
    from textlens.server.runtime.loading import builtin_models_dir
    from textlens.server.settings import default_models

    by_model: dict[str, dict[str, Any]] = {}
    rows_of: dict[str, dict[str, int]] = {}
    for key, row in results.items():
        rows_of[row["model"]] = row["rows"]
        entry: dict[str, Any] = {"allowed": deltas[key] >= -MAX_LOSS_POINTS}
        metrics = {k: round(v, 4) for k, v in row.items() if k.endswith(("accuracy", "_f1"))}
        if row["task"] == "embed":
            entry["mean_cosine"] = round(row["mean_cosine"], 4)
            entry["top10_overlap"] = round(row["top10_overlap"], 4)
            entry["why"] = (
                f"mean cosine to float32 {row['mean_cosine']:.4f}, top-10 neighbour overlap "
                f"{row['top10_overlap']:.3f} on validation texts"
            )
        else:
            entry["worst_delta_points"] = deltas[key]
            entry["why"] = (
                f"worst accuracy/F1 change {deltas[key]:+.2f} points on validation "
                f"(sources with {GATE_MIN_ROWS}+ rows)"
            )
            entry["metrics"] = metrics
        by_model.setdefault(row["model"], {})[row["path"]] = entry
    specs = {s.name: s for s in default_models()}
    for model, paths in by_model.items():
        source = specs[model].source
        # builtin:minilm (the base encoder) lives in its own package: its gate goes to
        # models/textlens/models/minilm-encoder/, where `validation_gate.model_directory` looks for it.
        name = BASE_GATE_DIR if source == "builtin:minilm" else source.removeprefix("builtin:")
        directory = builtin_models_dir() / name
        directory.mkdir(exist_ok=True)
        registry = load_models(
            [specs[model].model_copy(update={"backend": "torch", "dtype": "float32"})]
        )
        version = registry.models[model].version
        registry.close()
        gate = {
            "version": version,
            "max_loss_points": MAX_LOSS_POINTS,
            "gate_min_rows": GATE_MIN_ROWS,
            "rows": rows_of[model],
            "cpu_flags": cpu_flags,
            "measured_by": "scripts/backend_accuracy.py",
            "paths": paths,
        }
        (directory / "validation_gate.json").write_text(json.dumps(gate, indent=2) + "\n")
        if model in served_scores:
            served = directory / "validation_by_source_served.json"
            served.write_text(json.dumps(served_scores[model], indent=1) + "\n")
        print(f"wrote {directory / 'validation_gate.json'}")


if __name__ == "__main__":
    sys.exit(main())
