"""A tqdm progress bar (rows, rows/s, ETA) fed by the UDFs as they finish chunks.

A query runs inside DuckDB, so the only place that sees rows go by is the UDF
itself: the registration calls its listeners after every chunk. Every chunk
passes through each function of the query, so only one function is counted.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any, TextIO

from textlens.connectors.duckdb.register import Registration


class RowProgress:
    """Counts the rows one SQL function finishes, as a bar on `file` (stderr)."""

    def __init__(
        self,
        registration: Registration,
        function: str,
        total: int,
        *,
        desc: str = "enrich",
        file: TextIO | None = None,
        disable: bool = False,
    ) -> None:
        from tqdm import tqdm

        self.registration = registration
        self.function = function
        self.rows = 0
        self._lock = threading.Lock()
        self.bar: Any = tqdm(
            total=total,
            unit="rows",
            desc=desc,
            file=file if file is not None else sys.stderr,
            disable=disable,
            mininterval=0.5,
            smoothing=0.1,
            dynamic_ncols=True,
        )

    def __call__(self, function: str, rows: int) -> None:
        if function != self.function:
            return
        with self._lock:
            self.rows += rows
            self.bar.update(rows)

    def __enter__(self) -> RowProgress:
        self.registration.add_listener(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.registration.remove_listener(self)
        self.bar.close()
