"""Futures that carry a job's results back to the request: mapped, renamed, spread.

A job's rows are not always the request's texts (a sentence-mode text is one
row per sentence; aspect pairs and language screening skip texts), so results
are mapped back into request order and errors that name a row are renamed after
the request's text.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from textlens.contract.errors import TextTooLong
from textlens.server.runtime.tasks import row_detail

#: Names row `i` of a job as the request knows it ("sentence 2 of text #1").
RowNames = Callable[[int], str]


def renamed(exc: BaseException, names: RowNames | None) -> BaseException:
    """A row-numbered TextTooLong (`tasks.too_long`) renamed after the request's text."""
    found = row_detail(exc) if names is not None else None
    if found is None or names is None:
        return exc
    row, detail = found
    return TextTooLong(f"{names(row)} of the request {detail}")


def mapped(
    inner: Future[Any], fn: Callable[[Any], Any], names: RowNames | None = None
) -> Future[Any]:
    """A future of `fn(inner's result)`; cancellation passes through, errors through
    `renamed` (`names`: what each row of the job is in the request)."""
    outer: Future[Any] = Future()

    def relay(done: Future[Any]) -> None:
        if outer.done():  # the caller cancelled first
            return
        if done.cancelled():
            outer.cancel()
        elif (exc := done.exception()) is not None:
            outer.set_exception(renamed(exc, names))
        else:
            outer.set_result(fn(done.result()))

    def cancel_inner(done: Future[Any]) -> None:
        if done.cancelled():
            inner.cancel()  # a caller that gives up frees the batcher's queue too

    outer.add_done_callback(cancel_inner)
    inner.add_done_callback(relay)
    return outer


def spread(results: list[Any], positions: list[int], size: int) -> list[Any]:
    """`size` answers: results[k] at positions[k], None elsewhere."""
    out: list[Any] = [None] * size
    for i, result in zip(positions, results, strict=True):
        out[i] = result
    return out
