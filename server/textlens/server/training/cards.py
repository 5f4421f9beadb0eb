"""Model-card sections for models trained on several sources (`training.mixture`).

Why a module: a card of a mixture model must say, per source, what it is,
who may use it (several licences are non-commercial or unstated), how much
of each epoch it was, how the model scores on it, and what it scores on a
source it never saw (leave-one-source-out, from `scripts/market_study.py`).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from textlens.server.training.sentiment_mix import BY_NAME

LABEL_WORDS = {
    "three": "positive / neutral / negative, human",
    "polar": "positive / negative only, human",
    "self": "the poster's own bullish / bearish tag (noisy, no neutral)",
}

COMMERCIAL_NOTE = (
    "Several sources are licensed for non-commercial use only or state no licence at all "
    "(the table says which). The weights here are offered for evaluation and research on "
    "that basis. A user with commercial needs retrains on rows they may use, with the "
    "same command and their own data (`textlens train --source-column ...`), or starts "
    "from the MIT-licensed sources only."
)


def sources_table(meta: dict[str, Any], by_source: dict[str, Any] | None) -> str:
    """Per source: kind, labels, licence, share of an epoch and held-out scores."""
    mixture = meta["training"].get("mixture") or {}
    quotas: dict[str, int] = mixture.get("quotas", {})
    recipe = mixture.get("recipe", {})
    total = sum(quotas.values()) or 1
    lines = [
        "| source | text | labels | licence | share of an epoch | how its rows teach "
        "| held-out rows | accuracy | macro-F1 | neutral recall | sign accuracy |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    # Every source, trained on or left out (a dropped source is still scored), in the
    # order of the sources table.
    names = list(quotas) + [n for n in (by_source or {}) if n not in quotas]
    order = {n: i for i, n in enumerate(BY_NAME)}
    for name in sorted(names, key=lambda n: order.get(n, len(order))):
        quota = quotas.get(name, 0)
        info = BY_NAME.get(name)
        m = (by_source or {}).get(name, {})
        teach = "all three classes"
        if not quota:
            teach = _teach("drop")
        elif name in recipe.get("self_sources", ()):
            teach = _teach(recipe.get("self_loss", "full"))
        elif name in recipe.get("polar_sources", ()):
            teach = _teach(recipe.get("polar_loss", "full"))
        cells = [
            f"{m[k]:.3f}" if k in m else "–"
            for k in ("accuracy", "macro_f1", "neutral_recall", "sign_accuracy")
        ]
        lines.append(
            f"| {name} | {info.kind if info else '?'} | "
            f"{LABEL_WORDS.get(info.labels, '?') if info else '?'} | "
            f"{info.licence if info else '?'} | {quota / total:.0%} | {teach} | "
            f"{m.get('rows', '–')} | {' | '.join(cells)} |"
        )
    return "\n".join(lines)


def _teach(loss: str) -> str:
    return {
        "full": "as labelled (says: not neutral)",
        "pair": "positive vs negative only (no say on neutral)",
        "drop": "left out",
    }[loss]


def worst_line(by_source: dict[str, Any]) -> str:
    """The worst three-class source: the number a user on a new source should expect."""
    three = {s: m for s, m in by_source.items() if "neutral_recall" in m}
    if not three:
        return ""
    name = min(three, key=lambda s: three[s]["macro_f1"])
    mean = sum(m["macro_f1"] for m in three.values()) / len(three)
    return (
        f"- worst three-class source: **{name}**, macro-F1 {three[name]['macro_f1']:.4f} "
        f"(mean of the {len(three)} three-class sources {mean:.4f})"
    )


def spread(values: list[float]) -> str:
    """`0.591` for one value, `0.591 ± 0.005` (mean ± sample sd) for several."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def loso_runs(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Leave-one-source-out runs on the default base, by the source left out (seeds together)."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        if r.get("left_out") and r.get("base", "builtin:minilm") == "builtin:minilm":
            by.setdefault(r["left_out"], []).append(r)
    return by


def loso_cells(rs: list[dict[str, Any]]) -> list[str]:
    """accuracy, macro-F1, neutral recall, sign accuracy of one left-out source over its seeds."""
    scores = [r["scores"][r["left_out"]] for r in rs]
    return [
        spread([m[k] for m in scores]) if k in scores[0] else "–"
        for k in ("accuracy", "macro_f1", "neutral_recall", "sign_accuracy")
    ]


def loso_section(study: Path) -> str:
    """The leave-one-source-out table of a `market_study.py` results file, if there is one."""
    if not study.is_file():
        return ""
    runs = [json.loads(line) for line in study.read_text().splitlines() if line.strip()]
    loso = loso_runs(runs)
    if not loso:
        return ""
    lines = [
        "| left out (never seen) | seeds | rows scored | accuracy | macro-F1 | neutral recall "
        "| sign accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for source, rs in loso.items():
        rows = rs[0]["scores"][source]["rows"]
        lines.append(f"| {source} | {len(rs)} | {rows} | {' | '.join(loso_cells(rs))} |")
    first = next(iter(loso.values()))[0]
    seeds = sorted({r["seed"] for rs in loso.values() for r in rs})
    return (
        "\n### Leave one source out\n"
        f"Trained on every source but one ({first['train_rows']:,} sampled rows, "
        f"the study's short recipe, seeds {', '.join(map(str, seeds))}; mean ± sd), scored "
        "on up to 1,500 rows of the one left out. This, not the validation above, predicts a "
        f"source the model never saw (`{study.as_posix()}`, `scripts/market_study.py "
        "--loso`).\n\n" + "\n".join(lines) + "\n"
    )


SERVED_FILE = "validation_by_source_served.json"
GATE_FILE = "validation_gate.json"

SERVED_WORDS = {
    "sentiment": (
        "The default server reads a text of several sentences one sentence at a time, "
        "weighting each sentence's probabilities by how opinionated it is, 1 − P(neutral); "
        "one that fits the model's window is also read whole, and the two readings are "
        "averaged (`sentences = true`; `textlens.server.runtime.documents`). These are the "
        "numbers users get"
    ),
    "aspect": (
        "Served, the model reads the clauses of a text that mention the target "
        "(`textlens.server.runtime.aspects`); a target the text never mentions gets NULL, "
        "counted here as neutral. These are the numbers `aspect_sentiment()` gives"
    ),
}


def served_section(out: Path, task: str) -> str:
    """Per-source scores through the Analyzer (`scripts/backend_accuracy.py --write-gates`)."""
    path = out / SERVED_FILE
    if not path.is_file() or task not in SERVED_WORDS:
        return ""
    from textlens.server.training.source_report import per_source_table

    by_source = json.loads(path.read_text())
    return (
        f"\n### As served\n{SERVED_WORDS[task]} (`{SERVED_FILE}`).\n\n"
        f"{worst_line(by_source)}\n\n{per_source_table(by_source)}\n"
    )


def inference_paths_section(out: Path) -> str:
    """Each engine path's per-source macro-F1 and whether `auto` may pick it (the gate file)."""
    path = out / GATE_FILE
    if not path.is_file():
        return ""
    gate = json.loads(path.read_text())
    paths = {p: e for p, e in gate.get("paths", {}).items() if "metrics" in e}
    if not paths:
        return ""
    reference = next(iter(paths.values()))["metrics"]
    rows, least = gate.get("rows", {}), gate.get("gate_min_rows", 0)
    sources = [k.removesuffix("_macro_f1") for k in reference if k.endswith("_macro_f1")]
    lines = [f"| source (macro-F1) | rows | {' | '.join(paths)} |", "|---" * (len(paths) + 2) + "|"]
    for source in sources:
        key = f"{source}_macro_f1"
        cells = [f"{reference[key]:.4f}"] + [
            f"{e['metrics'][key]:.4f} ({(e['metrics'][key] - reference[key]) * 100:+.2f})"
            for e in list(paths.values())[1:]
        ]
        size = rows.get(source)
        shown = f"{size}" + ("" if size is None or size >= least else " (does not gate)")
        lines.append(f"| {source} | {shown} | {' | '.join(cells)} |")
    worst = [f"{e['worst_delta_points']:+.2f}" for e in paths.values()]
    lines.append(f"| worst Δ, accuracy or macro-F1 (points) | | {' | '.join(worst)} |")
    lines.append(
        f"| auto may pick | | {' | '.join('yes' if e['allowed'] else 'no' for e in paths.values())} |"
    )
    flags = " ".join(gate.get("cpu_flags", [])) or "not recorded"
    return (
        "\n## Inference paths (backend × dtype)\n"
        "The held-out rows through each engine path this CPU runs, as served "
        f"(`python scripts/backend_accuracy.py --write-gates`; CPU flags: {flags}); Δ against "
        f"the first path in points. A path that loses more than {gate['max_loss_points']} "
        f"points of accuracy or macro-F1 on a source with {least}+ held-out rows is left out "
        f"of `auto` by `{GATE_FILE}` (the probe-set parity gate applies on top).\n\n"
        + "\n".join(lines)
        + "\n"
    )
