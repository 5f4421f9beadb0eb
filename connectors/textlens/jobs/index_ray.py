"""`textlens index create|refresh --ray`: the texts to embed go through `enrich --ray`.

Only the embedding step moves to Ray; finding what changed and the all-or-nothing swap
stay in the warehouse connection (`search.refresh`). The rows to embed are written to a
Parquet file in a private temporary folder, `enrich_on_ray` adds their `embedding`
column on an actor pool (each actor its own models, or `target`), and the result is
read back into a temp table. A failure anywhere leaves the index as it was.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from textlens.connectors.duckdb.quoting import quote_literal
from textlens.connectors.duckdb.search.refresh import Embedder
from textlens.jobs.ray_enrich import RayOptions, enrich_on_ray

if TYPE_CHECKING:
    import duckdb


def ray_embedder(
    options: RayOptions,
    *,
    target: str | None = None,
    config: str | Path | None = None,
    progress: bool = True,
) -> Embedder:
    """An `Embedder` that embeds the rows to index on a Ray actor pool."""

    def run(con: duckdb.DuckDBPyConnection, todo: str, rows: int, model: str) -> str:
        out = f"{todo}_vectors"
        with tempfile.TemporaryDirectory(prefix="textlens-index-") as folder:
            source = Path(folder) / "todo.parquet"
            enriched = Path(folder) / "embedded.parquet"
            con.execute(f"COPY {todo} TO {quote_literal(str(source))} (FORMAT parquet)")
            enrich_on_ray(
                table=str(source),
                column="text",
                out=str(enriched),
                tasks=["embed"],
                models={"embed": model},
                target=target,
                config=config,
                progress=progress,
                options=options,
            )
            con.execute(
                f"CREATE TEMP TABLE {out} AS SELECT id, embedding AS vector "
                f"FROM read_parquet({quote_literal(str(enriched))})"
            )
        return out

    return run
