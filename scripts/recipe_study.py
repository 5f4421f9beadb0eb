"""The training-recipe study behind `textlens train`'s defaults, on real three-class tasks.

    python scripts/recipe_study.py --data ../shared/data --out recipe_study.json

Train on a few thousand rows of one finance source and score on held-out rows
of the same source and of the other one:

* TFNS (finance tweets) -> TFNS held-out tweets and SEntFiN held-out headlines,
* SEntFiN headlines -> SEntFiN held-out headlines and TFNS held-out tweets,

for LoRA vs full fine-tuning, from the raw encoder (`builtin:minilm`) vs the
three-class sentiment model (`builtin:sentiment-minilm`), over several seeds.
The held-out rows are the ones `sentiment_mix` holds out, so the sentiment
model never trained on them. Prints one JSON line per run and a Markdown
table of mean ± spread (macro-F1, accuracy, minutes) per recipe.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from textlens.server.training import sentiment_mix
from textlens.server.training.evaluation import evaluate_rows
from textlens.server.training.pipeline import TrainJob, run_training
from textlens.server.training.sources import Source
from textlens.server.training.trainer import TrainConfig

SOURCES = {"tfns": "tfns", "sentfin": "sentfin"}


def _rows_sql(data: Path, source: str, part: str) -> str:
    sql = sentiment_mix.train_sql(data) if part == "train" else sentiment_mix.valid_sql(data)
    return f"SELECT text, label FROM ({sql}) WHERE source = '{source}'"


def run_one(
    data: Path, train_on: str, method: str, base: str, seed: int, rows: int, epochs: int
) -> dict[str, Any]:
    cfg = TrainConfig(
        base=base,
        method=method,
        lr=6e-4 if method == "lora" else 5e-5,
        epochs=epochs,
        max_length=64,
        seed=seed,
        evals_per_epoch=2,
        patience=2,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model"
        job = TrainJob(
            task="classify",
            data=Source(query=_rows_sql(data, train_on, "train")),
            valid=Source(query=_rows_sql(data, train_on, "valid")),
            config=cfg,
            out=out,
            max_rows=rows,
        )
        run_training(job)
        scores: dict[str, Any] = {}
        for source in SOURCES:
            from textlens.server.training.sources import text_rows

            held_out = text_rows(Source(query=_rows_sql(data, source, "valid"))).rows
            report, _ = evaluate_rows(str(out), "classify", held_out)
            scores[source] = {
                "macro_f1": report["macro_f1"],
                "accuracy": report["accuracy"],
                "neutral_recall": report["per_class"]["neutral"]["recall"],
                "rows": report["rows"],
            }
    return {
        "train_on": train_on,
        "method": method,
        "base": base,
        "seed": seed,
        "train_rows": rows,
        "epochs": epochs,
        "minutes": round((time.monotonic() - started) / 60, 2),
        "scores": scores,
    }


def table(results: list[dict[str, Any]]) -> str:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["train_on"], r["method"], r["base"]), []).append(r)
    lines = [
        "| trained on | method | start | seeds | macro-F1 same source | macro-F1 other source "
        "| accuracy same source | minutes |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def spread(values: list[float]) -> str:
        if len(values) < 2:
            return f"{values[0]:.3f}"
        return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"

    for (train_on, method, base), runs in groups.items():
        other = next(s for s in SOURCES if s != train_on)
        lines.append(
            f"| {train_on} | {method} | {base} | {len(runs)} | "
            f"{spread([r['scores'][train_on]['macro_f1'] for r in runs])} | "
            f"{spread([r['scores'][other]['macro_f1'] for r in runs])} | "
            f"{spread([r['scores'][train_on]['accuracy'] for r in runs])} | "
            f"{statistics.mean(r['minutes'] for r in runs):.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("recipe_study.json"))
    parser.add_argument("--rows", type=int, default=3000, help="training rows per run")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--train-on", nargs="+", default=list(SOURCES))
    parser.add_argument("--methods", nargs="+", default=["lora", "full"])
    parser.add_argument(
        "--bases", nargs="+", default=["builtin:minilm", "builtin:sentiment-minilm"]
    )
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    if args.out.is_file():  # resume: a long study survives a stop
        results = [json.loads(line) for line in args.out.read_text().splitlines() if line]
    done = {(r["train_on"], r["method"], r["base"], r["seed"]) for r in results}
    for train_on in args.train_on:
        for base in args.bases:
            for method in args.methods:
                for seed in args.seeds:
                    if (train_on, method, base, seed) in done:
                        continue
                    result = run_one(
                        args.data, train_on, method, base, seed, args.rows, args.epochs
                    )
                    print(json.dumps(result), flush=True)
                    with args.out.open("a") as fh:
                        fh.write(json.dumps(result) + "\n")
                    results.append(result)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
