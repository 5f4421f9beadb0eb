"""A tqdm progress bar (rows, rows/s, ETA) fed by the UDFs as they finish chunks.

A query runs inside DuckDB, so the only place that sees rows go by is the UDF
itself: the registration calls its listeners after every chunk. Every chunk
passes through each function of the query, and the functions run at their own pace
(`sentiment` can be done with a chunk `embed` is still on), so the bar shows the rows
that *every* counted function has finished: it reaches 100% when the scoring is done,
not when the fastest function is.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TextIO

from textlens.connectors.duckdb.register import Registration


class RowProgress:
    """Counts the rows all of `functions` have finished, as a bar on `file` (stderr)."""

    def __init__(
        self,
        registration: Registration,
        functions: str | Sequence[str],
        total: int,
        *,
        desc: str = "enrich",
        file: TextIO | None = None,
        disable: bool = False,
    ) -> None:
        from tqdm import tqdm

        self.registration = registration
        self.functions = [functions] if isinstance(functions, str) else list(functions)
        self._done = dict.fromkeys(self.functions, 0)
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
        if function not in self._done:
            return
        with self._lock:
            self._done[function] += rows
            finished = min(self._done.values())
            if finished > self.rows:
                self.bar.update(finished - self.rows)
                self.rows = finished

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
