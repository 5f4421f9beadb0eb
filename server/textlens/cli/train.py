"""The `textlens train` and `textlens eval` sub-commands: arguments in, pipeline called.

Kept apart from `textlens.cli.main` so the CLI module stays a table of
commands; nothing heavy (torch, duckdb) is imported until a command runs.
"""

from __future__ import annotations

import argparse
import errno
import shlex
import sys
from pathlib import Path
from typing import Any

from textlens.cli.options import add_registry_option, add_text_column

#: What a full disk says through libraries that do not raise OSError (safetensors' Rust
#: writer: "IoError(Os { code: 28, kind: StorageFull, ... })").
DISK_FULL_WORDS = ("No space left on device", "StorageFull", "Disk quota exceeded")


def disk_full(exc: BaseException) -> BaseException | None:
    """The error in `exc`'s chain that says the disk (or quota) is full, if one does."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return seen
        if any(word in str(seen) for word in DISK_FULL_WORDS):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def disk_full_message(exc: BaseException, where: Path | None, outcome: str) -> str:
    """One line: what happened, what was (not) left behind, what to do (issue 22, item 10)."""
    name = getattr(exc, "filename", None)
    place = f" writing {name}" if name else (f" under {where}" if where else "")
    return (
        f"textlens: error: the disk is full{place} (no space left on device); {outcome}. "
        "Free some space, or point --out/--registry at another disk, and re-run."
    )


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, default=None, help="DuckDB database file the query reads"
    )
    parser.add_argument(
        "--query",
        default=None,
        help='labelled rows, e.g. "SELECT body AS text, topic AS label ..."',
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a .csv/.parquet/.jsonl file instead of --query (or .conll for --task ner)",
    )
    add_text_column(parser, default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument(
        "--aspect-column", default="aspect", help="aspect: the target (aspect, company) column"
    )
    parser.add_argument(
        "--spans-column",
        default="entities",
        help='ner: LIST(STRUCT(start, "end", label)) or JSON spans of the text',
    )
    parser.add_argument("--tokens-column", default="tokens", help="ner: LIST(VARCHAR) words")
    parser.add_argument("--tags-column", default="tags", help="ner: LIST(VARCHAR) BIO tags")
    add_registry_option(parser)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda")


def add_train_parser(sub: Any) -> None:
    train = sub.add_parser(
        "train",
        help="fine-tune a classifier or NER model on labelled SQL rows or files",
        description="Fine-tune the packaged all-MiniLM-L6-v2 (or --base) on labelled rows "
        "and write a model directory with report.json and PNG charts; --register puts it "
        "in the registry a running server reloads from.",
    )
    train.add_argument(
        "--task", default="classify", choices=["classify", "sentiment", "aspect", "ner"]
    )
    _add_data_options(train)
    train.add_argument("--valid-query", default=None, help="validation rows (default: a split)")
    train.add_argument("--valid-data", type=Path, default=None, help="validation file")
    train.add_argument("--valid-fraction", type=float, default=0.1)
    train.add_argument("--out", type=Path, default=None, help="model directory to write")
    train.add_argument("--register", default=None, metavar="NAME", help="register as NAME")
    train.add_argument(
        "--resume-from",
        default=None,
        metavar="MODEL",
        help="continue training a registered model (its next version) or a model directory",
    )
    train.add_argument(
        "--promote-if-better",
        action="store_true",
        help="with --resume-from: serve the new version only if it beats the old one on "
        "the same validation rows",
    )
    train.add_argument(
        "--base",
        default="auto",
        help="start from: auto (builtin:sentiment-minilm for positive/neutral/negative "
        "labels, else builtin:minilm), builtin:minilm, a textlens model "
        "(builtin:sentiment-minilm, a model directory), a Hugging Face directory or hub id",
    )
    train.add_argument("--method", choices=["lora", "full"], default="lora")
    train.add_argument("--epochs", type=int, default=3)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--grad-accum", type=int, default=1)
    train.add_argument("--lr", type=float, default=None, help="default 6e-4 LoRA, 5e-5 full")
    train.add_argument("--lora-r", type=int, default=16)
    train.add_argument("--max-length", type=int, default=128)
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--patience", type=int, default=2, help="evaluations without gain")
    train.add_argument("--evals-per-epoch", type=int, default=2)
    train.add_argument("--class-weight", choices=["auto", "balanced", "none"], default="auto")
    train.add_argument("--casing", action="store_true", help="casing embedding (uncased base)")
    train.add_argument("--max-rows", type=int, default=None, help="cap the training rows")
    train.add_argument(
        "--keep-duplicates", action="store_true", help="keep repeated texts and empty texts"
    )
    _add_mixture_options(train)
    train.set_defaults(func=run_train_command)


def _add_mixture_options(train: argparse.ArgumentParser) -> None:
    mix = train.add_argument_group(
        "several sources",
        "With --source-column, rows from several sources (tables, feeds, vendors) are "
        "mixed by source and the model kept is the one whose worst source scores best "
        "(textlens.server.training.mixture).",
    )
    mix.add_argument("--source-column", default="", help="column naming each row's source")
    mix.add_argument(
        "--mix-alpha",
        type=float,
        default=0.5,
        help="a source's share of an epoch ~ rows**alpha: 1 pooled, 0 equal (default 0.5)",
    )
    mix.add_argument("--epoch-rows", type=int, default=0, help="rows per epoch (0: all rows)")
    mix.add_argument(
        "--source-weight",
        action="append",
        default=[],
        metavar="SOURCE=FACTOR",
        help="multiply a source's share of each epoch (repeatable), e.g. reviews=2",
    )
    mix.add_argument(
        "--polar-sources",
        default="",
        help="comma-separated sources labelled positive/negative only",
    )
    mix.add_argument("--polar-loss", choices=["full", "pair", "drop"], default="full")
    mix.add_argument(
        "--self-sources", default="", help="comma-separated sources labelled by their authors"
    )
    mix.add_argument("--self-loss", choices=["full", "pair", "drop"], default="pair")
    mix.add_argument("--label-smoothing", type=float, default=0.0)
    mix.add_argument("--select", choices=["worst", "pooled"], default="worst")
    mix.add_argument(
        "--select-min-class-rows",
        type=int,
        default=30,
        help="select on sources whose every class has this many validation rows (default 30)",
    )


def _mixture(args: argparse.Namespace) -> Any:
    from textlens.server.training.mixture import MixRecipe

    if not args.source_column:
        return None

    def names(value: str) -> tuple[str, ...]:
        return tuple(n.strip() for n in value.split(",") if n.strip())

    weights = []
    for item in args.source_weight:
        name, sep, factor = item.partition("=")
        try:
            weights.append((name.strip(), float(factor)))
        except ValueError:
            sep = ""
        if not sep or not name.strip() or weights[-1][1] <= 0:
            raise SystemExit(
                f"textlens train: --source-weight {item!r}: give SOURCE=FACTOR, e.g. reviews=2"
            )
    return MixRecipe(
        alpha=args.mix_alpha,
        epoch_rows=args.epoch_rows,
        source_weights=tuple(weights),
        polar_sources=names(args.polar_sources),
        polar_loss=args.polar_loss,
        self_sources=names(args.self_sources),
        self_loss=args.self_loss,
        label_smoothing=args.label_smoothing,
        select=args.select,
        select_min_class_rows=args.select_min_class_rows,
    )


def add_eval_parser(sub: Any) -> None:
    ev = sub.add_parser(
        "eval",
        help="evaluate a model on labelled rows (same report as train)",
        description="Evaluate a registered model, a model directory or builtin:NAME on a "
        "labelled query or file; prints the scores and writes report.json and PNGs to --out.",
    )
    ev.add_argument("--model", required=True, help="registry name, directory or builtin:NAME")
    ev.add_argument("--task", default=None, choices=["classify", "sentiment", "aspect", "ner"])
    _add_data_options(ev)
    ev.add_argument("--out", type=Path, default=None, help="directory for the report")
    ev.set_defaults(func=run_eval_command)


def _threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


def _source(args: argparse.Namespace, query: str | None, data: Path | None) -> Any:
    from textlens.server.training.sources import Source, TrainingDataError

    if query is not None and data is not None:
        raise TrainingDataError("give --query or --data, not both")
    return Source(query=query, db=args.db if query is not None else None, path=data)


def _columns(args: argparse.Namespace) -> Any:
    from textlens.server.training.pipeline import Columns

    return Columns(
        text=args.text_column,
        label=args.label_column,
        aspect=args.aspect_column,
        spans=args.spans_column,
        tokens=args.tokens_column,
        tags=args.tags_column,
        source=getattr(args, "source_column", ""),
    )


def run_train_command(args: argparse.Namespace) -> int:
    from textlens.server.training.pipeline import TrainJob, run_training
    from textlens.server.training.trainer import TrainConfig

    _threads(args.threads)
    valid = None
    if args.valid_query is not None or args.valid_data is not None:
        valid = _source(args, args.valid_query, args.valid_data)
    config = TrainConfig(
        base=args.base,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr if args.lr is not None else (6e-4 if args.method == "lora" else 5e-5),
        lora_r=args.lora_r,
        lora_alpha=2.0 * args.lora_r,
        max_length=args.max_length,
        seed=args.seed,
        casing=args.casing,
        device=args.device,
        evals_per_epoch=args.evals_per_epoch,
        patience=args.patience,
        method=args.method,
        grad_accum=args.grad_accum,
        class_weight=args.class_weight,
    )
    job = TrainJob(
        task=args.task,
        data=_source(args, args.query, args.data),
        config=config,
        valid=valid,
        valid_fraction=args.valid_fraction,
        columns=_columns(args),
        out=args.out,
        register=args.register,
        registry=args.registry,
        max_rows=args.max_rows,
        dedupe=not args.keep_duplicates,
        resume_from=args.resume_from,
        promote_if_better=args.promote_if_better,
        mixture=_mixture(args),
        command=shlex.join(["textlens", *sys.argv[1:]]),
    )
    try:
        run_training(job)
    except Exception as exc:
        full = disk_full(exc)
        if full is None:
            raise
        if args.register:
            where, outcome = args.registry, f"nothing was registered ({args.register} unchanged)"
        else:
            where, outcome = args.out, f"{args.out} is incomplete: delete it"
        print(disk_full_message(full, where, outcome), file=sys.stderr)
        return 1
    return 0


def run_eval_command(args: argparse.Namespace) -> int:
    from textlens.server.training.eval_job import run_eval

    _threads(args.threads)
    run_eval(
        args.model,
        _source(args, args.query, args.data),
        out=args.out,
        task=args.task,
        columns=_columns(args),
        registry=args.registry,
        device=args.device,
    )
    return 0
