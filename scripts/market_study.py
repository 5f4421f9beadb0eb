"""The recipe study behind the default sentiment model: which mix generalises across sources.

    python scripts/market_study.py --data ../shared/data --out market_study.jsonl

Every run trains `builtin:minilm` (LoRA, as the default) on the ten-source
mix of `sentiment_mix` for a fixed number of sampled rows, then scores the
held-out rows of every source. Runs differ in one lever at a time (source
sampling, how polarity-only rows teach, label smoothing, class weights), each
over several seeds. Models are compared by the *worst* three-class source's
macro-F1, which is what a user on an unseen source gets.

`--loso` adds the leave-one-source-out runs: train on all sources but one,
score every row of the one left out (none of it was seen).

Each finished run is one JSON line in `--out` (a stopped study resumes);
the Markdown tables print at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from textlens.server.training import sentiment_mix
from textlens.server.training.cards import loso_cells, loso_runs, spread
from textlens.server.training.mixture import MixRecipe, train_mixture
from textlens.server.training.source_report import per_source_report
from textlens.server.training.trainer import TrainConfig

POLAR = ("sst2", "surge_stock", "surge_crypto")
SELF = ("stockemotions",)
BASE = MixRecipe(
    alpha=0.5, polar_sources=POLAR, self_sources=SELF, polar_loss="full", self_loss="pair"
)
#: One lever at a time, from BASE.
VARIANTS: dict[str, MixRecipe] = {
    "pooled (alpha 1)": replace(BASE, alpha=1.0),
    "sqrt (alpha 0.5)": BASE,
    "balanced (alpha 0)": replace(BASE, alpha=0.0),
    "self rows: full CE": replace(BASE, self_loss="full"),
    "self rows: dropped": replace(BASE, self_loss="drop"),
    "polar rows: pair loss": replace(BASE, polar_loss="pair"),
    "label smoothing 0.1": replace(BASE, label_smoothing=0.1),
    "class weights": replace(BASE, class_weight=True),
    "first four sources only": replace(BASE, polar_sources=("sst2",), self_sources=()),
    "polar pair + self dropped": replace(BASE, polar_loss="pair", self_loss="drop"),
}
FIRST_FOUR = "first four sources only"
#: The recipe the default uses, and so the one whose leave-one-source-out runs matter.
LOSO_VARIANT = "polar pair + self dropped"


def _cap(rows: list[tuple[str, str]], cap: int) -> list[tuple[str, str]]:
    """At most `cap` rows, chosen by text hash (the same rows in every run)."""
    key = lambda r: hashlib.md5(r[0].encode()).hexdigest()  # noqa: E731
    return sorted(rows, key=key)[:cap]


def run_one(
    data: Path,
    name: str,
    recipe: MixRecipe,
    seed: int,
    rows: int,
    sources: list[str],
    left_out: str | None,
    valid_cap: int,
    base: str = "builtin:minilm",
) -> dict[str, Any]:
    train_rows = sentiment_mix.rows_by_source(sentiment_mix.train_sql(data, sources))
    # Every source's held-out rows, trained on or not: a run makes one evaluation, so
    # a left-out source's rows never choose a checkpoint.
    valid_rows = sentiment_mix.rows_by_source(sentiment_mix.valid_sql(data))
    train = [(t, g, s) for s, rs in train_rows.items() for t, g in rs]
    valid = [(t, g, s) for s, rs in valid_rows.items() for t, g in _cap(rs, valid_cap)]
    cfg = TrainConfig(base=base, epochs=1, lr=6e-4, max_length=64, seed=seed, evals_per_epoch=1)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model"
        result = train_mixture(
            train, valid, "sentiment", out, cfg, replace(recipe, epoch_rows=rows)
        )
        scores = result["validation"]["by_source"]
        if left_out:
            every = sentiment_mix.rows_by_source(
                f"{sentiment_mix.train_sql(data, [left_out])} UNION ALL "
                f"{sentiment_mix.valid_sql(data, [left_out])}"
            )[left_out]
            scores = {**scores, **per_source_report(out, {left_out: _cap(every, 1500)})}
    keep = ("rows", "accuracy", "macro_f1", "neutral_recall", "sign_accuracy")
    return {
        "variant": name,
        "seed": seed,
        "train_rows": rows,
        "left_out": left_out,
        "base": base,
        "minutes": round((time.monotonic() - started) / 60, 2),
        "scores": {s: {k: m[k] for k in keep if k in m} for s, m in scores.items()},
    }


_spread = spread


def _worst(scores: dict[str, Any], among: list[str]) -> float:
    return min(scores[s]["macro_f1"] for s in among if s in scores)


def recipe_table(results: list[dict[str, Any]]) -> str:
    three = [s.name for s in sentiment_mix.SOURCES_TABLE if s.labels == "three"]
    runs = [r for r in results if not r["left_out"]]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(r["variant"], []).append(r)
    cols = [*three, "sst2 sign", "stockemotions", "surge_stock", "surge_crypto"]
    lines = [
        "| recipe | seeds | worst three-class macro-F1 | mean three-class macro-F1 | "
        + " | ".join(cols)
        + " | minutes |",
        "|---" * (len(cols) + 5) + "|",
    ]
    for variant, rs in groups.items():
        cells = []
        for c in cols:
            source, key = ("sst2", "sign_accuracy") if c == "sst2 sign" else (c, "macro_f1")
            vals = [r["scores"][source][key] for r in rs if source in r["scores"]]
            cells.append(_spread(vals) if vals else "–")
        worst = _spread([_worst(r["scores"], three) for r in rs])
        mean = _spread([statistics.mean(r["scores"][s]["macro_f1"] for s in three) for r in rs])
        minutes = statistics.mean(r["minutes"] for r in rs)
        lines.append(
            f"| {variant} | {len(rs)} | {worst} | {mean} | {' | '.join(cells)} | {minutes:.1f} |"
        )
    return "\n".join(lines)


def loso_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| left out | seeds | rows scored | accuracy | macro-F1 | neutral recall | sign accuracy "
        "| macro-F1 when trained on it (same recipe) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    full = [r for r in results if not r["left_out"] and r["variant"] == LOSO_VARIANT]
    for s, rs in loso_runs(results).items():
        seen = [x["scores"][s]["macro_f1"] for x in full if s in x["scores"]]
        lines.append(
            f"| {s} | {len(rs)} | {rs[0]['scores'][s]['rows']} | {' | '.join(loso_cells(rs))} | "
            f"{_spread(seen) if seen else '–'} (validation split) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("market_study.jsonl"))
    parser.add_argument("--rows", type=int, default=8000, help="sampled training rows per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--valid-cap", type=int, default=600, help="validation rows per source")
    parser.add_argument("--loso", nargs="*", default=None, help="sources to leave out in turn")
    parser.add_argument("--loso-variant", default=LOSO_VARIANT, help="recipe of the LOSO runs")
    parser.add_argument("--table", action="store_true", help="only print the tables")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--base",
        default="builtin:minilm",
        help="encoder to fine-tune (e.g. the domain-adapted one of scripts/domain_mlm.py)",
    )
    parser.add_argument(
        "--base-label", default="", help="suffix of the variant names of runs on --base"
    )
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    results: list[dict[str, Any]] = []
    if args.out.is_file():  # resume: a long study survives a stop
        results = [json.loads(line) for line in args.out.read_text().splitlines() if line]
    done = {(r["variant"], r["seed"], r["left_out"]) for r in results}
    plan: list[tuple[str, int, str | None]] = []
    if not args.table:
        plan = [(v, s, None) for s in args.seeds for v in args.variants]
        if args.loso is not None:
            three = [s.name for s in sentiment_mix.SOURCES_TABLE]
            plan += [(args.loso_variant, args.seeds[0], s) for s in (args.loso or three)]
    suffix = f" [{args.base_label or args.base}]" if args.base != "builtin:minilm" else ""
    for variant, seed, left_out in plan:
        if (variant + suffix, seed, left_out) in done:
            continue
        recipe = VARIANTS[variant]
        sources = list(
            sentiment_mix.FIRST_SOURCES if variant == FIRST_FOUR else sentiment_mix.SOURCES
        )
        if left_out:
            sources.remove(left_out)
        result = run_one(
            args.data,
            variant + suffix,
            recipe,
            seed,
            args.rows,
            sources,
            left_out,
            args.valid_cap,
            args.base,
        )
        print(json.dumps(result), flush=True)
        with args.out.open("a") as fh:
            fh.write(json.dumps(result) + "\n")
        results.append(result)
    print(recipe_table(results))
    print()
    print(loso_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
