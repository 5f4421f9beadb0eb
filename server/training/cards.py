"""Model-card sections for models trained on several sources (`training.mixture`).

Why a module: a card of a mixture model must say, per source, what it is,
who may use it (several licences are non-commercial or unstated), how much
of each epoch it was, how the model scores on it, and what it scores on a
source it never saw (leave-one-source-out, from `scripts/market_study.py`).
"""

from __future__ import annotations

import json
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
    "from the two MIT-licensed sources only."
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
    for name, quota in quotas.items():
        info = BY_NAME.get(name)
        m = (by_source or {}).get(name, {})
        teach = "all three classes"
        if name in recipe.get("self_sources", ()):
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


def loso_section(study: Path) -> str:
    """The leave-one-source-out table of a `market_study.py` results file, if there is one."""
    if not study.is_file():
        return ""
    runs = [json.loads(line) for line in study.read_text().splitlines() if line.strip()]
    loso = [r for r in runs if r.get("left_out")]
    if not loso:
        return ""
    lines = [
        "| left out (never seen) | rows scored | accuracy | macro-F1 | neutral recall "
        "| sign accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for r in loso:
        m = r["scores"][r["left_out"]]
        cells = [
            f"{m[k]:.3f}" if k in m else "–"
            for k in ("accuracy", "macro_f1", "neutral_recall", "sign_accuracy")
        ]
        lines.append(f"| {r['left_out']} | {m['rows']} | {' | '.join(cells)} |")
    return (
        "\n### Leave one source out\n"
        f"Trained on every source but one ({loso[0]['train_rows']:,} sampled rows, "
        f"the study's short recipe, seed {loso[0]['seed']}), scored on every row of the one "
        "left out. This, not the validation above, predicts a source the model never saw "
        f"(`{study.as_posix()}`, `scripts/market_study.py --loso`).\n\n" + "\n".join(lines) + "\n"
    )
