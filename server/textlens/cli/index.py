"""`textlens index create|refresh|drop|list`: embedding indexes kept in step with a table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from textlens.cli.options import add_backend_options, add_text_column, use_registry


def _existing(db: Path) -> Path:
    """The warehouse must exist: a mistyped --db would otherwise create an empty file."""
    if not db.is_file():
        raise FileNotFoundError(f"DuckDB database {db} does not exist")
    return db


def _embedder(args: argparse.Namespace) -> Any:
    """The Ray embedder when --ray was given, else None (the connection's embed())."""
    if not args.ray:
        return None
    try:
        from textlens.jobs.index_ray import ray_embedder
        from textlens.jobs.ray_enrich import RayOptions
    except ImportError:
        raise ValueError(
            "index --ray needs Ray Data: pip install 'textlens[ray]' (ray[serve,data]==2.60.0)"
        ) from None
    options = RayOptions(
        actors=args.ray_actors,
        num_cpus=args.ray_cpus,
        num_gpus=args.ray_gpus,
        address=args.ray_address,
    )
    return ray_embedder(
        options, target=args.target, config=args.config, progress=not args.no_progress
    )


def _run_job(args: argparse.Namespace) -> int:
    import duckdb

    from textlens.connectors.duckdb.search import create_index, refresh_index
    from textlens.connectors.duckdb.session import open_session

    use_registry(args)
    _existing(args.db)
    embedder = _embedder(args)
    con, registration = open_session(args.db, target=args.target, config=args.config)
    try:
        if args.index_command == "create":
            result = create_index(
                registration,
                args.name,
                args.table,
                args.id_column,
                args.text_column,
                model=args.model or "",
                ann_mode=args.ann,
                replace_existing=args.replace,
                progress=not args.no_progress,
                embedder=embedder,
            )
        else:
            result = refresh_index(
                registration, args.name, progress=not args.no_progress, embedder=embedder
            )
    except KeyboardInterrupt:
        print("textlens: interrupted; the index is as it was", file=sys.stderr)
        return 130
    except duckdb.TransactionException as exc:
        print(
            f"textlens: error: {exc}\ntextlens: another refresh of this index committed "
            "first; the index is as that one left it. Run refresh again.",
            file=sys.stderr,
        )
        return 1
    except duckdb.Error as exc:
        print(f"textlens: error: {exc}\ntextlens: the index is as it was", file=sys.stderr)
        return 1
    finally:
        registration.close()
        con.close()
    print(result.summary(), file=sys.stderr)
    return 0


def _drop(args: argparse.Namespace) -> int:
    import duckdb

    from textlens.connectors.duckdb.search import drop_index

    with duckdb.connect(str(_existing(args.db))) as con:
        if not drop_index(con, args.name):
            raise ValueError(f"no index named {args.name!r} in {args.db}")
    print(f"index {args.name} dropped", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    import duckdb

    from textlens.connectors.duckdb.search import list_indexes

    with duckdb.connect(str(_existing(args.db)), read_only=True) as con:
        found = list_indexes(con)
    if not found:
        print(f"no indexes in {args.db}", file=sys.stderr)
        return 0
    print("name\tsource\tid\ttext\tmodel@version\tvectors\trefreshed\tstatus")
    for status in found:
        s = status.spec
        print(
            f"{s.name}\t{s.source}\t{s.id_column}\t{s.text_column}\t{s.model}@{s.model_version}"
            f"\t{s.vectors}\t{s.refreshed_at:%Y-%m-%d %H:%M:%S}\t{status.describe()}"
        )
    return 0


def _job_options(parser: argparse.ArgumentParser) -> None:
    add_backend_options(parser, db_required=True)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    ray = parser.add_argument_group(
        "Ray Data (textlens[ray])", "--ray: embed the new or changed texts on a Ray actor pool"
    )
    ray.add_argument("--ray", action="store_true", help="embed on Ray Data")
    ray.add_argument("--ray-address", default=None, help="Ray cluster (default: running/local)")
    ray.add_argument("--ray-actors", type=int, default=2, help="actors in the pool (default 2)")
    ray.add_argument("--ray-cpus", type=float, default=1.0, help="CPUs per actor (default 1)")
    ray.add_argument("--ray-gpus", type=float, default=0.0, help="GPUs per actor (default 0)")


def add_index_parser(sub: Any) -> None:
    index = sub.add_parser(
        "index",
        help="embedding indexes for semantic_search(), similar_to(), recommend() in SQL",
        description="An index keeps the embeddings of a table's text column in the same "
        "DuckDB file (schema textlens_index), in step with the table: refresh embeds only "
        "new or changed texts and drops deleted rows, all or nothing. docs/search.md.",
    )
    isub = index.add_subparsers(dest="index_command", required=True)
    create = isub.add_parser("create", help="index a table's text column (embeds every text)")
    create.add_argument("name", help="the index name (letters, digits, _)")
    create.add_argument("--table", required=True, help="the table or view to index")
    create.add_argument("--id-column", required=True, help="its unique id column")
    add_text_column(create)
    create.add_argument("--model", default=None, help="embedding model (default: the default)")
    create.add_argument("--replace", action="store_true", help="rebuild an existing index")
    create.add_argument(
        "--ann",
        choices=["auto", "on", "off"],
        default="auto",
        help="keep an HNSW graph for semantic_search_ann(): auto (from 100,000 rows, the "
        "default), on, off",
    )
    _job_options(create)
    create.set_defaults(func=_run_job)

    refresh = isub.add_parser("refresh", help="embed new or changed rows, drop deleted ones")
    refresh.add_argument("name", help="the index name")
    _job_options(refresh)
    refresh.set_defaults(func=_run_job)

    drop = isub.add_parser("drop", help="remove an index and its vectors")
    drop.add_argument("name", help="the index name")
    drop.add_argument("--db", type=Path, required=True, help="DuckDB database file")
    drop.set_defaults(func=_drop)

    listing = isub.add_parser("list", help="the indexes of a database, and which are stale")
    listing.add_argument("--db", type=Path, required=True, help="DuckDB database file")
    listing.set_defaults(func=_list)
