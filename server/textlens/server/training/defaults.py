"""Train the committed default models from ../shared/data and write their model cards.

    python -m textlens.server.training.defaults sentiment --data ../shared/data
    python -m textlens.server.training.defaults sentiment-binary --data ../shared/data
    python -m textlens.server.training.defaults ner --data ../shared/data

A thin wrapper over `textlens train` (`textlens.server.training.pipeline`):
each default is one training job, and its model card shows the equivalent
`textlens train` command, the seeds and the validation numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

import torch

from textlens.server.runtime.loading import builtin_models_dir
from textlens.server.training import sentiment_mix
from textlens.server.training.data import read_labelled_csv, stratified_split
from textlens.server.training.default_cards import rewrite_card, write_card
from textlens.server.training.mixture import MixRecipe
from textlens.server.training.pipeline import Columns, TrainJob, run_training
from textlens.server.training.source_report import per_source_report
from textlens.server.training.sources import Source, content_order, majority_labels
from textlens.server.training.trainer import TrainConfig

#: Where the rebuilt defaults are written: the `textlens.models` package (in a checkout,
#: `models/textlens/models/`), the folder `builtin:NAME` reads.
MODELS_DIR = builtin_models_dir()


def sentiment_split(
    data: Path, seed: int = 13
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """SST-2 train without duplicate texts, split 95/5 stratified: (train, validation)."""
    # SST-2 repeats some phrases: each text once, in content order (as `textlens train`).
    unique = content_order(majority_labels(read_labelled_csv(data / "sst2_train.csv")))
    return stratified_split(unique, [lab for _, lab in unique], 0.05, seed=seed)


def binary_sentiment_job(data: Path, out: Path, cfg: TrainConfig, max_rows: int | None) -> TrainJob:
    """The two-class SST-2 model as a `textlens train` job (same split as `sentiment_split`)."""
    return TrainJob(
        task="sentiment",
        data=Source(path=data / "sst2_train.csv"),
        config=cfg,
        valid_fraction=0.05,
        out=out,
        max_rows=max_rows,
    )


#: How the default sentiment model mixes its ten sources (the study behind it:
#: scripts/market_study.py, docs/market_sentiment.md).
SENTIMENT_RECIPE = MixRecipe(
    alpha=0.5,
    # SST-2 at twice its square-root share: reviews keep the two passes over SST-2
    # phrases the four-source default had (sign accuracy >= 0.90); the first
    # ten-source run, without it, fell to 0.888.
    epoch_rows=48_000,
    source_weights=(("sst2", 2.2),),
    polar_sources=("sst2", "surge_stock", "surge_crypto"),
    polar_loss="pair",
    self_sources=("stockemotions",),
    self_loss="drop",
)


def sentiment_job(data: Path, out: Path, cfg: TrainConfig, max_rows: int | None) -> TrainJob:
    """The default three-class model: every source of `sentiment_mix`, mixed by source."""
    return TrainJob(
        task="sentiment",
        data=Source(query=sentiment_mix.train_sql(data)),
        valid=Source(query=sentiment_mix.valid_sql(data)),
        config=cfg,
        columns=Columns(source="source"),
        mixture=SENTIMENT_RECIPE,
        out=out,
        max_rows=max_rows,
    )


#: How the default aspect model mixes headlines (SEntFiN) with per-cashtag posts.
ASPECT_RECIPE = MixRecipe(
    alpha=0.5,
    epoch_rows=16_000,
    polar_sources=("surge_stock",),
    polar_loss="full",
    self_sources=("stockemotions",),
    self_loss="pair",
)


def aspect_job(data: Path, out: Path, cfg: TrainConfig, max_rows: int | None) -> TrainJob:
    """The default aspect model: (text, target) rows of four sources, split like the text mix."""
    return TrainJob(
        task="aspect",
        data=Source(query=sentiment_mix.aspect_mix_sql(data, "train")),
        valid=Source(query=sentiment_mix.aspect_mix_sql(data, "valid")),
        config=cfg,
        columns=Columns(source="source"),
        mixture=ASPECT_RECIPE,
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
    args = ["textlens", "train", "--task", job.task]
    args += _source_args(job.data, "")
    if job.valid is not None:
        args += _source_args(job.valid, "valid-")
    else:
        args += ["--valid-fraction", f"{job.valid_fraction:g}"]
    for flag, value, base in [
        ("--base", cfg.base, default.base),
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
    if job.columns.source:
        args += ["--source-column", job.columns.source, *_mixture_args(job.mixture or MixRecipe())]
    if job.max_rows:
        args += ["--max-rows", str(job.max_rows)]
    # The thread count this run trains with: fp32 sums change in the last bits with it.
    args += ["--threads", str(torch.get_num_threads())]
    args += ["--out", f"models/{job.out.name if job.out else ''}"]
    return " ".join(_shell_word(a) for a in args)


def _mixture_args(recipe: MixRecipe) -> list[str]:
    """`textlens train` flags of a mixture recipe (those that differ from the CLI's defaults)."""
    args = []
    for flag, value, default in [
        ("--mix-alpha", recipe.alpha, 0.5),
        ("--epoch-rows", recipe.epoch_rows, 0),
        ("--polar-sources", ",".join(recipe.polar_sources), ""),
        ("--polar-loss", recipe.polar_loss, "full"),
        ("--self-sources", ",".join(recipe.self_sources), ""),
        ("--self-loss", recipe.self_loss, "pair"),
        ("--label-smoothing", recipe.label_smoothing, 0.0),
        ("--select", recipe.select, "worst"),
        ("--select-min-class-rows", recipe.select_min_class_rows, 30),
    ]:
        if value != default:
            args += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    for source, factor in recipe.source_weights:
        args += ["--source-weight", f"{source}={factor:g}"]
    return args


def _shell_word(arg: str) -> str:
    """`arg` quoted for a POSIX shell; SQL (single quotes inside) goes in double quotes."""
    if "'" in arg and not any(c in arg for c in '"$`!'):
        return f'"{arg}"'
    return shlex.quote(arg)


def _source_args(source: Source, prefix: str) -> list[str]:
    if source.query is not None:
        return [f"--{prefix}query", " ".join(source.query.split())]
    return [f"--{prefix}data", str(source.path)]


def default_config(task: str, args: argparse.Namespace) -> TrainConfig:
    """The hyper-parameters each committed default was trained with."""
    lora = {"lora_r": args.lora_r, "lora_alpha": 2.0 * args.lora_r, "seed": args.seed}
    if task == "sentiment":
        # Two passes over ~42k rows: the second pass still gains on the finance sources.
        return TrainConfig(
            epochs=args.epochs or 2,
            lr=args.lr or 6e-4,
            max_length=64,
            evals_per_epoch=args.evals_per_epoch or 2,
            patience=2,
            **lora,
        )
    if task == "aspect":
        # From the three-class model: it already knows sentiment; SEntFiN teaches "toward".
        return TrainConfig(
            base="builtin:sentiment-minilm",
            epochs=args.epochs or 2,
            lr=args.lr or 3e-4,
            max_length=64,
            evals_per_epoch=args.evals_per_epoch or 2,
            patience=2,
            **lora,
        )
    if task == "sentiment-binary":
        return TrainConfig(
            epochs=args.epochs or 1,
            lr=args.lr or 6e-4,
            max_length=64,
            evals_per_epoch=args.evals_per_epoch or 4,
            patience=3,
            **lora,
        )
    return TrainConfig(
        epochs=args.epochs or 4,
        lr=args.lr or 1e-3,
        max_length=128,
        casing=True,
        evals_per_epoch=args.evals_per_epoch or 1,
        batch_size=16,
        **lora,
    )


#: Default model directory and job builder of each default.
JOBS = {
    "sentiment": ("sentiment-minilm", sentiment_job),
    "sentiment-binary": ("sentiment-binary-minilm", binary_sentiment_job),
    "aspect": ("aspect-minilm", aspect_job),
    "ner": ("ner-minilm", ner_job),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("task", choices=sorted(JOBS))
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--evals-per-epoch", type=int, default=None)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="rewrite MODEL_CARD.md of the trained model (e.g. after the study's LOSO runs)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    name, make_job = JOBS[args.task]
    out = args.out or MODELS_DIR / name
    if args.card_only:
        return rewrite_card(out, args.task, [a for a in argv if a != "--card-only"])
    job = make_job(args.data, out, default_config(args.task, args), args.max_rows)
    job.command = train_command(job)
    result = run_training(job)
    by_source = None
    if args.task == "sentiment":
        by_source = per_source_report(
            out, sentiment_mix.rows_by_source(sentiment_mix.valid_sql(args.data))
        )
        (out / "validation_by_source.json").write_text(json.dumps(by_source, indent=1) + "\n")
    write_card(out, args.task, argv, result, job.command, by_source)
    print(
        json.dumps(
            {k: v for k, v in result["validation"].items() if k != "confusion_matrix"}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
