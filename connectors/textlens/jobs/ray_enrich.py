"""`textlens enrich --ray`: the DuckDB `enrich`, spread over a Ray Data actor pool.

Why this shape: every actor opens one DuckDB connection with the textlens
functions registered (embedded: the actor's own models on its CPU or GPU;
with `target`: a server or Serve replicas) and runs the very SELECT that
`enrich` builds, over each Arrow batch. So the new columns, their types and
the answers are those of `textlens enrich`, and the UDF cache folds repeated
texts within each actor. Ray does the rest: `read_parquet` splits the input,
`map_batches` feeds an actor pool, `preserve_order` keeps rows in input order.

All or nothing, as `enrich`: the driver streams the ordered batches into one
Parquet file under a temporary name beside `out` and renames it at the end;
on any failure (an actor's error, a text too long under `--truncation
error`, Ctrl-C) the temporary file is removed and `out` is untouched.
"""

from __future__ import annotations

import glob
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textlens.jobs.enrich import (
    EnrichResult,
    build_select,
    check_columns,
    source_sql,
)

if TYPE_CHECKING:
    import pyarrow as pa

#: The name each Arrow batch is registered under in the actor's DuckDB.
BATCH_VIEW = "textlens_batch"
#: Starts the one-line reason an actor failed, to find it in Ray's wrapped error.
FAILURE_MARK = "textlens enrich batch failed: "


@dataclass(frozen=True)
class RayOptions:
    """How the actor pool is sized: `actors` actors of `num_cpus`/`num_gpus` each.

    `batch_rows` rows go to an actor at a time (DuckDB then cuts them into
    2,048-row UDF chunks); `address` is the Ray cluster (None: a running one,
    else a local one on this machine).
    """

    actors: int = 2
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    batch_rows: int = 8192
    address: str | None = None

    def __post_init__(self) -> None:
        if self.actors < 1:
            raise ValueError(f"--ray-actors must be >= 1, got {self.actors}")
        if self.batch_rows < 1:
            raise ValueError(f"--ray-batch-rows must be >= 1, got {self.batch_rows}")
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise ValueError("--ray-cpus and --ray-gpus must be >= 0")


class EnrichBatches:
    """The actor: one DuckDB connection + registration, the enrich SELECT per batch."""

    def __init__(self, *, select: str, session: dict[str, Any]) -> None:
        from textlens.connectors.duckdb.session import open_session

        self._select = select
        self._con, self._registration = open_session(None, **session)

    def __call__(self, batch: pa.Table) -> pa.Table:
        self._con.register(BATCH_VIEW, batch)
        try:
            return self._con.sql(self._select).to_arrow_table()
        except Exception as exc:  # Ray wraps it in its own banner: mark our one line
            message = " ".join(str(exc).split())
            raise RuntimeError(f"{FAILURE_MARK}{message}") from None
        finally:
            self._con.unregister(BATCH_VIEW)


def ray_failure(exc: BaseException) -> str:
    """What went wrong in an actor (the marked line), without Ray's traceback banner."""
    found = re.search(re.escape(FAILURE_MARK) + r"(.*)", str(exc))
    if found:
        return found.group(1).strip()
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def parquet_paths(table: str) -> list[str]:
    """The Parquet files of `--table` (a file, a directory of them or a glob), sorted."""
    if any(ch in table for ch in "*?["):
        paths = sorted(glob.glob(table, recursive=True))
    elif Path(table).is_dir():
        paths = sorted(str(p) for p in Path(table).rglob("*.parquet"))
    else:
        paths = [table] if Path(table).is_file() else []
    if not paths:
        raise ValueError(f"--table {table!r}: no Parquet file there (enrich --ray reads Parquet)")
    not_parquet = [p for p in paths if not p.lower().endswith(".parquet")]
    if not_parquet:
        raise ValueError(
            f"enrich --ray reads Parquet only; {not_parquet[0]!r} is not (convert it with "
            "`textlens sql ... --format parquet`, or run enrich without --ray)"
        )
    return paths


def enrich_on_ray(
    *,
    table: str,
    column: str,
    out: str,
    tasks: list[str] | None = None,
    labels: list[str] | None = None,
    models: dict[str, str] | None = None,
    target: str | None = None,
    config: str | Path | None = None,
    truncation: str = "truncate",
    replace: bool = False,
    column_prefix: str = "",
    progress: bool = True,
    options: RayOptions | None = None,
) -> EnrichResult:
    """Write `out` (a .parquet file) = `table` (Parquet) + the enriched columns, on Ray."""
    import duckdb

    options = options or RayOptions()
    tasks = tasks or ["sentiment"]
    if not out.lower().endswith(".parquet"):
        raise ValueError(f"--out {out!r}: enrich --ray writes one .parquet file")
    out_path = Path(out)
    if out_path.exists() and not replace:
        raise ValueError(f"{out} already exists; pass --replace to overwrite it")
    paths = parquet_paths(table)
    select, names = build_select(BATCH_VIEW, column, tasks, labels or [], column_prefix)
    files = "[" + ", ".join(source_sql(p) for p in paths) + "]"
    with duckdb.connect() as con:  # schema and row count from the Parquet footers
        check_columns(
            con.sql(f"SELECT * FROM read_parquet({files}) LIMIT 0").columns, names, column
        )
        found = con.execute(f"SELECT count(*) FROM read_parquet({files})").fetchone()
    rows = int(found[0]) if found else 0
    session = {"target": target, "config": config, "models": models, "truncation": truncation}
    started = time.monotonic()
    tmp = out_path.with_name(f".{out_path.name}.tmp-{os.getpid()}")
    try:
        batches = _enriched_batches(paths, select, session, options)
        written = _write_ordered(batches, tmp, rows, progress)
        if written == 0 and rows == 0:  # no batch carried the schema: one empty batch does
            actor = EnrichBatches(select=select, session=session)
            empty = con_schema_batch(files)
            _write_ordered(iter([actor(empty)]), tmp, 0, progress=False)
        elif written != rows:
            raise RuntimeError(f"Ray returned {written} of {rows} rows; nothing was written")
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    where = f"Ray ({options.actors} actors × {options.num_cpus:g} CPU, {options.num_gpus:g} GPU)"
    return EnrichResult(rows, names, time.monotonic() - started, out, None, where)


def con_schema_batch(files: str) -> pa.Table:
    """An empty Arrow table with the input's columns."""
    import duckdb

    with duckdb.connect() as con:
        return con.sql(f"SELECT * FROM read_parquet({files}) LIMIT 0").to_arrow_table()


def _enriched_batches(
    paths: list[str], select: str, session: dict[str, Any], options: RayOptions
) -> Iterator[pa.Table]:
    """The enriched batches in input order, as the actor pool produces them."""
    import ray
    from ray.data import ActorPoolStrategy, DataContext

    if not ray.is_initialized():
        ray.init(address=options.address, include_dashboard=False, log_to_driver=False)
    context = DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False  # ours counts rows, below
    threads = max(1, int(options.num_cpus)) if options.num_cpus else 1
    # Streaming repartition (no shuffle): blocks of at most batch_rows rows, so even one
    # small file is spread over the whole pool, in input order.
    blocks = ray.data.read_parquet(paths).repartition(target_num_rows_per_block=options.batch_rows)
    dataset = blocks.map_batches(
        EnrichBatches,
        fn_constructor_kwargs={"select": select, "session": session},
        batch_size=options.batch_rows,
        batch_format="pyarrow",
        compute=ActorPoolStrategy(size=options.actors),
        num_cpus=options.num_cpus,
        num_gpus=options.num_gpus,
        # One torch thread per reserved core: actors sharing a machine do not oversubscribe.
        runtime_env={"env_vars": {"TEXTLENS_THREADS": str(threads)}},
    )
    yield from dataset.iter_batches(batch_size=None, batch_format="pyarrow")


def _write_ordered(batches: Iterator[pa.Table], path: Path, rows: int, progress: bool) -> int:
    """Stream `batches` into one Parquet file at `path`; returns the rows written."""
    import pyarrow.parquet as pq
    from tqdm import tqdm

    written = 0
    writer: pq.ParquetWriter | None = None
    with tqdm(total=rows, unit="rows", desc="enrich --ray", disable=not progress) as bar:
        try:
            for enriched in batches:
                batch = fixed_lists_as_lists(enriched)
                if writer is None:
                    writer = pq.ParquetWriter(path, batch.schema)
                writer.write_table(batch)
                written += batch.num_rows
                bar.update(batch.num_rows)
        finally:
            if writer is not None:
                writer.close()
    return written


def fixed_lists_as_lists(batch: pa.Table) -> pa.Table:
    """Embedding columns as variable-size lists, as the DuckDB `enrich` writes them
    (see `arrays_as_lists`): the two outputs have one schema."""
    import pyarrow as pa

    fields = [
        pa.field(f.name, pa.list_(pa.field("element", f.type.value_type)), f.nullable)
        if pa.types.is_fixed_size_list(f.type)
        else f
        for f in batch.schema
    ]
    return batch.cast(pa.schema(fields)) if fields != list(batch.schema) else batch
