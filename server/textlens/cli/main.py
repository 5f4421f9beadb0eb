"""The `textlens` command line.

Sub-commands import their heavy dependencies only when run, so
`textlens --help` and the client-side commands work without torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from textlens.cli.options import add_backend_options, add_text_column, use_registry

if TYPE_CHECKING:
    from textlens.contract.results import ModelInfo


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from textlens.server.logs import configure_logging
    from textlens.server.settings import load_settings
    from textlens.server.transport.app import serve

    settings = load_settings(
        args.config,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_format=args.log_format,
    )
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve(settings))
    return 0


def _models(args: argparse.Namespace) -> int:
    from textlens.client import Client

    with Client(args.target) as client:
        infos = client.list_models()
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], indent=2))
        return 0
    for i in infos:
        star = "*" if i.is_default else " "
        labels = ",".join(i.labels) if i.labels else f"dim={i.dim}"
        print(
            f"{star} {i.name:24} {i.task:10} {i.device} {i.backend}/{i.dtype:9} v{i.version}  "
            f"{labels}  ({i.source})"
        )
        if i.task in ("sentiment", "aspect", "ner"):
            print(f"      {_reads(i)}")
        if args.why and i.backend_reason:
            print(f"      {i.backend_reason}")
    return 0


def _reads(info: ModelInfo) -> str:
    """The model's languages and what it answers outside them (docs/language.md, Policy)."""
    if not info.languages:
        return "reads: any language"
    other = "not scored (NULL)" if info.other_languages != "score" else "scored anyway"
    return f"reads: {','.join(info.languages)}; other languages: {other}"


def _reload(args: argparse.Namespace) -> int:
    from textlens.client import Client

    with Client(args.target) as client:
        outcomes = client.reload_models(args.name, token=args.token)
    for o in outcomes:
        state = f"{o.previous_version or 'new'} -> {o.version}" if o.changed else "unchanged"
        print(f"{o.name:24} {state:28} {o.source}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from textlens.server.demo import main as demo_main

    return demo_main([])


def _model_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """`--model sentiment=finbert` (repeatable) -> {"sentiment": "finbert"}."""
    out: dict[str, str] = {}
    for pair in pairs:
        task, sep, name = pair.partition("=")
        if not sep or not task or not name:
            raise ValueError(f"--model takes FUNCTION=MODEL (e.g. sentiment=finbert), not {pair!r}")
        out[task.strip()] = name.strip()
    return out


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from textlens.jobs.sql import run_sql

    use_registry(args)
    try:
        return run_sql(
            args.query,
            db=args.db,
            target=args.target,
            config=args.config,
            fmt=args.format,
            output=args.output,
            max_rows=args.max_rows,
            stats=args.stats,
        )
    except KeyboardInterrupt:  # stopped at once (textlens.connectors.duckdb.interrupt)
        print("textlens: interrupted", file=sys.stderr)
        return 130
    except duckdb.Error as exc:
        print(f"textlens: error: {exc}", file=sys.stderr)
        return 1


def _enrich(args: argparse.Namespace) -> int:
    import duckdb

    from textlens.jobs.enrich import enrich

    use_registry(args)
    if args.ray:
        from textlens.cli.ray_enrich import enrich_on_ray_command

        return enrich_on_ray_command(args, _model_overrides(args.model))
    try:
        result = enrich(
            table=args.table,
            column=args.text_column,
            out=args.out,
            db=args.db,
            tasks=[t.strip() for t in args.tasks.split(",") if t.strip()],
            labels=[x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else [],
            models=_model_overrides(args.model),
            target=args.target,
            config=args.config,
            truncation=args.truncation,
            replace=args.replace,
            column_prefix=args.column_prefix,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:  # stopped at once (textlens.connectors.duckdb.interrupt)
        print("textlens: interrupted; nothing was written", file=sys.stderr)
        return 130
    except duckdb.Error as exc:
        print(f"textlens: error: {exc}\ntextlens: nothing was written", file=sys.stderr)
        return 1
    print(result.summary(), file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="textlens", description="Text analytics from SQL and gRPC."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC model server")
    serve.add_argument(
        "--config", type=Path, default=None, help="TOML config (default: $TEXTLENS_CONFIG)"
    )
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=None, help="port (default 50051; 0 = any free port)"
    )
    serve.add_argument("--log-level", default=None)
    serve.add_argument("--log-format", choices=["text", "json"], default=None)
    serve.set_defaults(func=_serve)

    models = sub.add_parser("models", help="list the models a server serves")
    models.add_argument("--target", default=None, help="host:port (default $TEXTLENS_TARGET)")
    models.add_argument("--json", action="store_true")
    models.add_argument(
        "--why", action="store_true", help="also say why each model runs on its backend/dtype"
    )
    models.set_defaults(func=_models)

    reload = sub.add_parser(
        "reload",
        help="make a running server serve its registry's current model versions (admin)",
    )
    reload.add_argument("--target", default=None, help="host:port (default $TEXTLENS_TARGET)")
    reload.add_argument(
        "--name", action="append", default=[], help="registered model (repeatable; default all)"
    )
    reload.add_argument(
        "--token", default=None, help="operator token (default $TEXTLENS_ADMIN_TOKEN)"
    )
    reload.set_defaults(func=_reload)

    demo = sub.add_parser(
        "demo", help="start a server on the default models and analyse a few texts"
    )
    demo.set_defaults(func=_demo)

    sql = sub.add_parser(
        "sql",
        help="run SQL with the textlens functions (sentiment(), entities(), embed(), ...)",
        description="Run a DuckDB query with the textlens functions registered and print "
        "the result. Embedded mode unless --target or $TEXTLENS_TARGET names a server.",
    )
    sql.add_argument("query", help="the SQL, e.g. \"SELECT sentiment('I love it')\"")
    add_backend_options(sql)
    sql.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table")
    sql.add_argument(
        "--output", "-o", type=Path, default=None, help="write here (needed for parquet)"
    )
    sql.add_argument(
        "--max-rows", type=int, default=40, help="rows the table format shows (default 40)"
    )
    sql.add_argument(
        "--stats", action="store_true", help="print rows, cache hits and texts computed"
    )
    sql.set_defaults(func=_sql)

    enrich = sub.add_parser(
        "enrich",
        help="write a copy of a table with model columns added (all or nothing)",
        description="CREATE TABLE OUT AS SELECT *, <model columns> FROM TABLE in one "
        "transaction: if it fails, nothing is written (re-run it; it is not resumable). "
        "Columns: sentiment -> sentiment, sentiment_score; sentiment_probs; entities; "
        "entity_sentiment; "
        "embed -> embedding; classify -> classification (needs --labels).",
    )
    add_backend_options(enrich)
    enrich.add_argument(
        "--table",
        required=True,
        help="source table in --db, or a Parquet/CSV/JSON path or glob",
    )
    add_text_column(enrich, old=["--column"])
    enrich.add_argument(
        "--out",
        required=True,
        help="new table in --db, or a .parquet/.csv/.json file",
    )
    enrich.add_argument(
        "--tasks",
        default="sentiment",
        help="comma-separated: sentiment, sentiment_probs, entities, entity_sentiment, embed, "
        "classify",
    )
    enrich.add_argument("--labels", default=None, help="classify: comma-separated labels")
    enrich.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="FUNCTION=MODEL",
        help="use another model than the default, e.g. sentiment=finbert (repeatable)",
    )
    enrich.add_argument(
        "--truncation",
        choices=["truncate", "error"],
        default="truncate",
        help="texts longer than the model reads: cut them (default) or fail the run",
    )
    enrich.add_argument(
        "--replace", action="store_true", help="replace --out if it exists (atomically)"
    )
    enrich.add_argument("--column-prefix", default="", help="prefix for the new column names")
    enrich.add_argument("--no-progress", action="store_true", help="no progress bar")
    from textlens.cli.ray_enrich import add_ray_enrich_options

    add_ray_enrich_options(enrich)
    enrich.set_defaults(func=_enrich)

    from textlens.cli.demo_data import add_demo_data_parser

    add_demo_data_parser(sub)

    from textlens.cli.train import add_eval_parser, add_train_parser

    add_train_parser(sub)
    add_eval_parser(sub)

    from textlens.cli.bench import add_bench_parser

    add_bench_parser(sub)

    from textlens.cli.topics import add_topics_parser

    add_topics_parser(sub)

    from textlens.cli.index import add_index_parser

    add_index_parser(sub)

    from textlens.cli.monitor import add_monitor_parser

    add_monitor_parser(sub)

    from textlens.cli.superset import add_superset_parser

    add_superset_parser(sub)

    from textlens.cli.token import add_token_parser

    add_token_parser(sub)

    from textlens.cli.ray import add_ray_parser

    add_ray_parser(sub)
    return parser


#: The exit codes of every command (README, "Commands").
OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130


def exit_code(exc: BaseException) -> int | None:
    """FAILED or USAGE for an error a command raised; None: a bug (let it raise).

    USAGE (2) is what the person running the command must change: an option value, or
    a file, column, model or query it names that does not exist or cannot work. FAILED
    (1) is a valid command that failed while running: the server (unavailable, refused,
    overloaded, past its deadline), the network, the disk, the database.
    """
    from textlens.contract import errors

    if isinstance(exc, FileNotFoundError | NotADirectoryError | ValueError):
        return USAGE
    if isinstance(exc, errors.InvalidInput | errors.UnknownModel | errors.ModelLoadError):
        return USAGE  # WrongTask, TextTooLong and TooManyTexts are InvalidInput
    if isinstance(exc, errors.TextlensError | OSError):
        return FAILED
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code says what happened (see `exit_code`)."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print("textlens: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:
        code_for = exit_code(exc)
        if code_for is None:
            raise
        print(f"textlens: error: {exc}", file=sys.stderr)
        return code_for
    return code


if __name__ == "__main__":
    raise SystemExit(main())
