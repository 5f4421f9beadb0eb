"""What the batcher schedules: jobs, their futures and sizes, the model protocol, counters.

Kept apart from the worker loop (`batcher.py`) so each stays small; the
batcher re-exports these names.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

#: What one row costs beyond its characters, in characters (~4 per token): its two
#: special tokens. 100,000 one-word sentences are many passes, not "a small job".
ROW_CHARS = 8


def job_cost(job: Any) -> int:
    """A job's size in characters plus `ROW_CHARS` per row: rows count, not just text."""
    chars = sum(len(t) if isinstance(t, str) else sum(map(len, t)) for t in job.inputs)
    return chars + ROW_CHARS * len(job.inputs)


class JobFuture(Future[Any]):
    """A job's future whose `cancel` also reaches a job already being computed.

    A plain Future cannot be cancelled once running, so a caller that gave up
    (a cancelled gRPC call: `asyncio.wrap_future` cancels this future) used to
    have all of its rows computed anyway. Here `cancel` on a running job marks
    it abandoned; the worker drops its remaining rows before the next pass and
    fails it with `CancelledError`. Returns False then, as the job did start.
    """

    abandoned = False

    def cancel(self) -> bool:
        if super().cancel():
            return True
        if not self.done():
            self.abandoned = True
        return False


@dataclass
class Job:
    """One request's worth of texts (or (text, target) pairs) for one model."""

    inputs: list[Any]
    truncation: str
    deadline: float | None
    options: dict[str, Any] = field(default_factory=dict)
    future: JobFuture = field(default_factory=JobFuture)
    queued_at: float = field(default_factory=time.monotonic)

    def expired(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline


class Encoded(Protocol):
    """A tokenized text: the batcher only needs its length."""

    @property
    def length(self) -> int: ...


class BatchModel(Protocol):
    """The three steps a task model provides to the batcher."""

    name: str

    def encode(self, texts: Sequence[Any], truncation: str) -> list[Any]: ...

    def forward(self, items: Sequence[Any]) -> list[Any]: ...

    def finish(self, job: Job, encoded: list[Any], outputs: list[Any]) -> Any: ...


@dataclass
class BatchStats:
    """Counters the runtime exposes (tests and /metrics-style logging read them)."""

    requests: int = 0
    texts: int = 0
    batches: int = 0
    forward_passes: int = 0
    padded_tokens: int = 0
    real_tokens: int = 0
    dropped_deadline: int = 0
    #: Jobs whose caller gave up (gRPC cancellation) before or while they ran.
    cancelled: int = 0
    #: Rows left uncomputed because their job was cancelled or its deadline passed.
    abandoned_rows: int = 0
    rejected_overload: int = 0
    #: Rounds of small jobs served between two forward passes of a bulk round.
    preemptions: int = 0
    #: Seconds jobs waited in the queue before their round started, and how many did.
    queue_wait_seconds: float = 0.0
    started_jobs: int = 0
    #: Texts (rows) computed over all forward passes: / forward_passes = batch size.
    batch_rows: int = 0
    #: Seconds spent in forward passes (Prometheus: tokens/s and utilisation).
    forward_seconds: float = 0.0

    def snapshot(self) -> dict[str, float]:
        return dict(self.__dict__)
