"""The arrow UDF body, written once for every function and both backends.

Per chunk: plan (dedup, NULLs) -> one compute call per option group -> build
the distinct answers as arrow -> `take` into row order. Textlens errors are
re-raised with the SQL function and the backend named, so the DuckDB error an
analyst sees says which server failed and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from textlens.connectors.duckdb.cached_compute import CachedCompute
from textlens.connectors.duckdb.chunks import Column, plan_chunk
from textlens.connectors.duckdb.functions import SqlFunction
from textlens.contract.errors import TextlensError, TextTooLong

#: Called after each chunk with (public function name, rows in the chunk).
ChunkListener = Callable[[str, int], None]


def contextualize(err: TextlensError, function: str, where: str) -> TextlensError:
    """The same error class, its message prefixed with the function and where it ran.

    `where` is the backend's description ("textlens server at host:port"); it is
    left out when the message already names the address.
    """
    message = str(err)
    address = where.rsplit(" ", 1)[-1]
    context = f"textlens {function}()" if address in message else f"textlens {function}() [{where}]"
    if isinstance(err, TextTooLong):
        message += (
            ". This connection was registered with truncation='error'; "
            "register(con, truncation='truncate') cuts long texts instead"
        )
    return type(err)(f"{context}: {message}")


def make_udf(
    fn: SqlFunction,
    public_name: str,
    compute: CachedCompute,
    listeners: list[ChunkListener],
) -> Callable[..., pa.Array]:
    """The arrow UDF behind `public_name`: text and option columns in, one array out."""

    def run(*columns: Column) -> pa.Array:
        try:
            plan = plan_chunk(columns)
            values: list[Any] = []
            for group in plan.groups:
                values.extend(compute.results(fn.task, group.options, group.texts))
            out = pc.take(fn.build(values), plan.slots)
        except TextlensError as err:
            raise contextualize(err, public_name, compute.backend.describe()) from err
        compute.count(rows=plan.size - plan.nulls, nulls=plan.nulls, chunks=1, distinct=plan.items)
        for listener in listeners:
            listener(public_name, plan.size)
        return out

    # DuckDB checks the Python signature against the parameter list: spell it out.
    udf: Callable[..., pa.Array]
    if not fn.options:

        def udf(text: Column) -> pa.Array:
            return run(text)

    elif len(fn.options) == 1:

        def udf(text: Column, model: Column) -> pa.Array:
            return run(text, model)

    elif len(fn.options) == 2:

        def udf(text: Column, option: Column, model: Column) -> pa.Array:
            return run(text, option, model)

    else:

        def udf(text: Column, labels: Column, model: Column, template: Column) -> pa.Array:
            return run(text, labels, model, template)

    udf.__name__ = f"textlens_{fn.name}"
    udf.__doc__ = fn.summary
    return udf
