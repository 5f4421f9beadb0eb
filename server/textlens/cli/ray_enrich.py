"""`textlens enrich --ray`: its options and the command; Ray is imported only when it runs."""

from __future__ import annotations

import argparse
import sys


def add_ray_enrich_options(parser: argparse.ArgumentParser) -> None:
    """The --ray options of `textlens enrich`."""
    ray = parser.add_argument_group(
        "Ray Data (textlens[ray])",
        "--ray: read Parquet --table, run the same columns on a Ray actor pool (each actor "
        "its own models, or --target), write one .parquet --out in input order, all or nothing",
    )
    ray.add_argument("--ray", action="store_true", help="run on Ray Data")
    ray.add_argument("--ray-address", default=None, help="Ray cluster (default: running/local)")
    ray.add_argument("--ray-actors", type=int, default=2, help="actors in the pool (default 2)")
    ray.add_argument("--ray-cpus", type=float, default=1.0, help="CPUs per actor (default 1)")
    ray.add_argument(
        "--ray-gpus", type=float, default=0.0, help="GPUs per actor; 0.5 shares one (default 0)"
    )
    ray.add_argument(
        "--ray-batch-rows", type=int, default=8192, help="rows per actor call (default 8192)"
    )


def enrich_on_ray_command(args: argparse.Namespace, models: dict[str, str]) -> int:
    """`textlens enrich --ray ...`; the exit status."""
    try:
        from textlens.jobs.ray_enrich import RayOptions, enrich_on_ray, ray_failure
    except ImportError:
        raise ValueError(
            "enrich --ray needs Ray Data: pip install 'textlens[ray]' (ray[serve,data]==2.60.0)"
        ) from None
    if args.db is not None:
        raise ValueError("enrich --ray reads and writes Parquet files; --db does not apply")
    options = RayOptions(
        actors=args.ray_actors,
        num_cpus=args.ray_cpus,
        num_gpus=args.ray_gpus,
        batch_rows=args.ray_batch_rows,
        address=args.ray_address,
    )
    try:
        result = enrich_on_ray(
            table=args.table,
            column=args.text_column,
            out=args.out,
            tasks=[t.strip() for t in args.tasks.split(",") if t.strip()],
            labels=[x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else [],
            models=models,
            target=args.target,
            config=args.config,
            truncation=args.truncation,
            replace=args.replace,
            column_prefix=args.column_prefix,
            progress=not args.no_progress,
            options=options,
        )
    except KeyboardInterrupt:  # the temporary output is already removed
        print("textlens: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:  # an actor's failure comes back as Ray's wrapper: say its cause
        if isinstance(exc, ValueError):
            raise
        print(
            f"textlens: error: {ray_failure(exc)}\ntextlens: nothing was written", file=sys.stderr
        )
        return 1
    print(result.summary(), file=sys.stderr)
    return 0
