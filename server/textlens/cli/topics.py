"""`textlens topics fit`: the command line over `textlens.server.topics.fit`."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from textlens.cli.options import add_registry_option, add_text_column


def _topic_count(value: str) -> int | None:
    if value == "auto":
        return None
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--topics takes auto or a number, not {value!r}"
        ) from None
    if k < 2:
        raise argparse.ArgumentTypeError("--topics K needs K >= 2")
    return k


def add_topics_parser(sub: Any) -> None:
    topics = sub.add_parser(
        "topics",
        help="discover topics in a text column and register a topic classifier",
        description="Topics the way BERTopic finds them (embeddings -> UMAP -> HDBSCAN or "
        "k-means -> class-based TF-IDF labels). The result is a classify model: "
        "classify(text, 'NAME') in SQL assigns new texts without refitting. Needs "
        "pip install 'textlens[topics]'.",
    )
    tsub = topics.add_subparsers(dest="topics_command", required=True)
    fit = tsub.add_parser("fit", help="fit topics on rows from SQL or a file")
    fit.add_argument("--db", type=Path, default=None, help="DuckDB database the query reads")
    fit.add_argument("--query", default=None, help='e.g. "SELECT id, body AS text FROM news"')
    fit.add_argument("--data", type=Path, default=None, help="a .csv/.parquet/.jsonl instead")
    add_text_column(fit, default="text")
    fit.add_argument("--register", default=None, metavar="NAME", help="register as NAME")
    add_registry_option(fit)
    fit.add_argument("--out", type=Path, default=None, help="write the model here instead")
    fit.add_argument(
        "--topics", type=_topic_count, default=None, metavar="auto|K",
        help="auto (HDBSCAN decides, default) or a fixed number of topics (k-means)",
    )  # fmt: skip
    fit.add_argument("--seed", type=int, default=42)
    fit.add_argument(
        "--min-topic-size", type=int, default=None,
        help="auto: smallest topic HDBSCAN keeps (default 1%% of the texts, at least 10)",
    )  # fmt: skip
    fit.add_argument("--max-topics", type=int, default=40, help="merge the smallest beyond this")
    fit.add_argument(
        "--max-cluster-docs", type=int, default=50_000,
        help="cluster a seeded sample of this many texts; all are assigned (default 50000)",
    )  # fmt: skip
    fit.add_argument(
        "--outlier-quantile", type=float, default=0.05,
        help="share of a topic's own texts allowed below the outlier threshold (default 0.05)",
    )  # fmt: skip
    fit.add_argument(
        "--mask", action="append", default=[], metavar="REGEX[=>REPLACEMENT]",
        help="rewrite matches before embedding, at fit and when served (repeatable), e.g. "
        "'\\$[A-Z]{2,5}\\b=>stock' so topics are about events, not company names",
    )  # fmt: skip
    fit.add_argument("--embed-model", default="builtin:minilm", help="encoder source")
    fit.add_argument(
        "--max-length", type=int, default=None, help="tokens per text (default: the encoder's)"
    )
    fit.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    fit.add_argument("--no-progress", action="store_true", help="no progress bar")
    fit.set_defaults(func=run_fit_command)


def run_fit_command(args: argparse.Namespace) -> int:
    from textlens.server.topics.clustering import ClusterConfig
    from textlens.server.topics.fit import TopicsJob, run_topics_fit
    from textlens.server.training.sources import Source, TrainingDataError

    if (args.query is None) == (args.data is None):
        raise TrainingDataError("give the texts: --query (with --db) or --data FILE")
    if not 0 <= args.outlier_quantile < 1:
        raise TrainingDataError("--outlier-quantile must be in [0, 1)")
    try:
        _require_libraries()
    except ImportError as exc:
        raise TrainingDataError(str(exc)) from exc
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    job = TopicsJob(
        data=Source(query=args.query, db=args.db if args.query else None, path=args.data),
        text_column=args.text_column,
        cluster=ClusterConfig(
            topics=args.topics,
            seed=args.seed,
            min_topic_size=args.min_topic_size,
            max_topics=args.max_topics,
            max_cluster_docs=args.max_cluster_docs,
            outlier_quantile=args.outlier_quantile,
        ),
        embed_source=args.embed_model,
        max_length=args.max_length,
        register=args.register,
        registry=args.registry,
        out=args.out,
        progress=not args.no_progress,
        command=shlex.join(["textlens", *sys.argv[1:]]),
        masks=_masks(args.mask),
    )
    result = run_topics_fit(job)
    report = result.report
    where = f"{args.register} {result.version}" if result.version else str(result.path)
    print(
        f"{report['topics_found']} topics in {report['distinct_texts']:,} distinct texts "
        f"({report['outlier_share']:.1%} outliers, silhouette {report['silhouette_cosine']}, "
        f"NPMI {report['coherence_npmi']}) -> {where}"
    )
    for topic in report["topics"]:
        print(f"  {topic['id']:>3}  {topic['size']:>7,}  {topic['label']}")
    print(f"report: {result.path / 'report.json'}, topic_map.png, topic_sizes.png")
    return 0


def _masks(values: list[str]) -> list[tuple[str, str]]:
    from textlens.server.topics.network import compile_masks
    from textlens.server.training.sources import TrainingDataError

    masks = []
    for value in values:
        pattern, _, replacement = value.partition("=>")
        if not pattern:
            raise TrainingDataError(f"--mask {value!r} has no pattern (REGEX[=>REPLACEMENT])")
        masks.append((pattern, replacement))
    try:
        compile_masks(masks)
    except ValueError as exc:
        raise TrainingDataError(str(exc)) from exc
    return masks


def _require_libraries() -> None:
    missing = []
    for module in ("umap", "hdbscan", "sklearn", "matplotlib"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ImportError(
            f"textlens topics needs {', '.join(missing)}: pip install 'textlens[topics]'"
        )
