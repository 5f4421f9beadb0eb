"""The deadline of the operation a call belongs to, when it is more than one call.

A caller that retries a failed call on a fresh channel (the DuckDB connector's one
reconnect) sets it, so the retry gets what is left of the first try's deadline instead
of a fresh one: a chunk takes at most its `timeout`, reconnect included. A context
variable, so each thread and task sees only its own operation.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_OPERATION_DEADLINE: ContextVar[float | None] = ContextVar(
    "textlens_operation_deadline", default=None
)


def call_deadline(timeout: float) -> float:
    """A call's monotonic deadline: `timeout` from now, or the operation's, if sooner."""
    own = time.monotonic() + timeout
    outer = _OPERATION_DEADLINE.get()
    return own if outer is None else min(own, outer)


@contextmanager
def operation_deadline(timeout: float) -> Iterator[None]:
    """Calls inside share one deadline, `timeout` from now (an outer one, if sooner, wins)."""
    token = _OPERATION_DEADLINE.set(call_deadline(timeout))
    try:
        yield
    finally:
        _OPERATION_DEADLINE.reset(token)
