"""Fair turns at a model: a large request goes to the batcher one slice at a time.

A batcher serves its queue in order, so one caller's 8,192 long texts used to
hold the model for the whole request while every other caller waited behind
it. Here a large request is cut into slices of about one forward pass, and
the next slice is queued only when the previous one is done: whoever queued
in the meantime goes first. Two large callers alternate; a dashboard's small
query waits for one slice, not for someone else's backfill.

Results are joined in order (lists, or the rows of an embedding matrix), so a
caller cannot tell. The whole request is admitted once, at its first slice:
later slices never meet RESOURCE_EXHAUSTED half-way, and a batcher that is
closing (a reload retiring it, a shutdown) waits for open requests to finish.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from textlens.server.runtime.batcher import Batcher

#: A slice holds at least this many texts, and at most about one forward pass of text.
MIN_SLICE_TEXTS = 64
PASSES_PER_SLICE = 1
#: Characters per token assumed when sizing a slice (as the batcher's budget does).
CHARS_PER_TOKEN = 4


def slices(inputs: Sequence[Any], max_batch_tokens: int, tail: int = 0) -> list[list[Any]]:
    """`inputs` cut into consecutive slices; the last `tail` inputs (zero-shot label
    hypotheses, which every text is scored against) go with every slice."""
    head = list(inputs[: len(inputs) - tail]) if tail else list(inputs)
    shared = list(inputs[len(inputs) - tail :]) if tail else []
    budget = max_batch_tokens * CHARS_PER_TOKEN * PASSES_PER_SLICE
    out: list[list[Any]] = []
    current: list[Any] = []
    chars = 0
    for item in head:
        size = len(item) if isinstance(item, str) else sum(len(part) for part in item)
        if current and len(current) >= MIN_SLICE_TEXTS and chars + size > budget:
            out.append(current + shared)
            current, chars = [], 0
        current.append(item)
        chars += size
    if current or not out:
        out.append(current + shared)
    return out


def _joined(parts: list[Any]) -> Any:
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts, axis=0)
    return [item for part in parts for item in part]


def submit_fairly(
    batcher: Batcher,
    inputs: list[Any],
    truncation: str,
    deadline: float | None,
    options: dict[str, Any] | None = None,
) -> Future[Any]:
    """The future of the whole request, computed slice after slice (see the module doc)."""
    labels = (options or {}).get("labels")
    parts = slices(inputs, batcher.max_batch_tokens, tail=len(labels) if labels else 0)
    if len(parts) == 1:
        return batcher.submit(inputs, truncation, deadline, options)
    batcher.open_request()  # ShuttingDown here reaches the caller; close() now waits for us
    outer: Future[Any] = Future()
    outer.add_done_callback(lambda _: batcher.end_request())
    results: list[Any] = []
    current: list[Future[Any]] = []

    def next_slice(done: Future[Any] | None) -> None:
        if done is not None:
            if outer.done():
                return
            if done.cancelled():
                outer.cancel()
                return
            if (exc := done.exception()) is not None:
                outer.set_exception(exc)
                return
            results.append(done.result())
        if len(results) == len(parts):
            outer.set_result(_joined(results))
            return
        part = parts[len(results)]
        try:
            future = batcher.submit(part, truncation, deadline, options, admitted=done is not None)
        except Exception as exc:
            outer.set_exception(exc)  # releases the open request
            if done is None:
                raise  # the first slice: the caller sees Overloaded directly
            return
        current[:] = [future]
        future.add_done_callback(next_slice)

    def cancel_current(done: Future[Any]) -> None:
        if done.cancelled() and current:
            current[0].cancel()  # a caller that gives up frees the model for the others

    next_slice(None)
    outer.add_done_callback(cancel_current)
    return outer
