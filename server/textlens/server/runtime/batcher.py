"""Dynamic micro-batching: many concurrent requests, few forward passes.

One worker thread per model owns the model. Callers (gRPC handlers on the
event loop, DuckDB threads in embedded mode) submit jobs and get a
`concurrent.futures.Future`; the worker waits up to `max_wait_ms` for company
after the first job, tokenizes, sorts all texts by length, cuts them into
forward passes of at most `max_batch_tokens` padded tokens (fewer where a pass
would take over `PASS_SECONDS`), and hands each job
exactly its own results as soon as they are computed. Between two passes of a
bulk round, small jobs that arrived meanwhile are served first (one pass of
waiting, not a whole bulk request: no caller starves the others), and their
passes go before bulk passes of other models on the shared CPU lock
(`cpu_lock.pass_kind`). The queue is bounded by rows (a sentence-mode text is
one row per sentence), so overload answers `Overloaded` at once instead of
growing memory. Before every pass the worker drops the jobs nobody waits for
any more: a caller that cancelled (`JobFuture.cancel` on a running job) or
whose deadline passed loses its remaining rows, so a client that gives up
on a 100,000-row request frees the model within one pass.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import CancelledError, Future
from typing import Any

from textlens.contract.errors import DeadlineExceeded, Overloaded, ShuttingDown, TextlensError
from textlens.server.runtime.cpu_lock import lock_wait_seconds, pass_kind
from textlens.server.runtime.jobs import (
    ROW_CHARS,
    BatchModel,
    BatchStats,
    Encoded,
    Job,
    JobFuture,
    job_cost,
)

__all__ = [
    "MIN_PASS_TOKENS",
    "PASS_SECONDS",
    "ROW_CHARS",
    "BatchModel",
    "BatchStats",
    "Batcher",
    "Encoded",
    "Job",
    "JobFuture",
]

log = logging.getLogger(__name__)


#: A pass is cut to about this many seconds of this model's measured compute, so a small
#: job (of this model between passes, of another on the CPU lock) waits about this long
#: for the pass in progress (a full token budget of short sentences takes seconds on a
#: small CPU).
PASS_SECONDS = 0.25
#: ... but never to fewer padded tokens than this (a pass stays a batch).
MIN_PASS_TOKENS = 1024


_STOP = object()


class Batcher:
    """The worker thread and bounded queue in front of one model."""

    def __init__(
        self,
        model: BatchModel,
        *,
        max_batch_tokens: int,
        max_wait_ms: float,
        max_queue_texts: int,
    ) -> None:
        self.model = model
        self.max_batch_tokens = max_batch_tokens
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue_texts = max_queue_texts
        self.stats = BatchStats()
        #: Padded tokens and seconds of this model's passes, CPU-lock waits excluded.
        self._timed_tokens = 0
        self._timed_seconds = 0.0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued_texts = 0
        self._closed = False
        #: Worker thread only: jobs taken from the queue but left for a later round, and
        #: whether the queue's stop marker was taken.
        self._carry: deque[Job] = deque()
        self._stop_seen = False
        self._thread = threading.Thread(
            target=self._run, name=f"textlens-batcher-{model.name}", daemon=True
        )
        self._thread.start()

    # -- caller side -------------------------------------------------------
    def submit(
        self,
        inputs: list[str],
        truncation: str = "truncate",
        deadline: float | None = None,
        options: dict[str, Any] | None = None,
    ) -> Future[Any]:
        """Queue a job; raises Overloaded when the queue is full, ShuttingDown when closed.

        `inputs` are rows: a sentence-mode text arrives as its sentences, and the
        queue limit counts them.
        """
        job = Job(inputs, truncation, deadline, options or {})
        n = len(inputs)
        with self._lock:
            if self._closed:
                raise ShuttingDown(
                    f"model {self.model.name} is shutting down; retry on another server"
                )
            # An idle queue admits any job: a request larger than the limit (a 2,048-row
            # DuckDB chunk under max_queue_texts = 1000) would otherwise be refused forever.
            if self._queued_texts and self._queued_texts + n > self.max_queue_texts:
                self.stats.rejected_overload += 1
                raise Overloaded(
                    f"model {self.model.name} has {self._queued_texts} rows queued and this "
                    f"request is {n} (limit max_queue_texts = {self.max_queue_texts}; a "
                    "sentence-mode text is a row per sentence); back off and retry"
                )
            self._queued_texts += n
            self.stats.requests += 1
            self.stats.texts += n
            # Under the lock: `close` puts its stop marker under it too, so a job that
            # passed the closed check is queued before the marker and gets computed.
            self._queue.put(job)
        return job.future

    def close(self, timeout: float | None = None) -> None:
        """Refuse new jobs, finish the queued ones, stop the worker."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)

    @property
    def queued_texts(self) -> int:
        return self._queued_texts

    def pass_tokens(self) -> int:
        """Padded tokens per forward pass: `max_batch_tokens`, or fewer where this model
        computes them in more than `PASS_SECONDS` (measured on its own passes).

        The cut is a power of two, so it does not drift with every measurement: where
        passes are cut decides the padding, and float results move (by ~1e-7) with the
        padding, so the same rows on an idle server keep the same answers run after run.
        A model fast enough for `max_batch_tokens` (and any model before its first
        measured pass) is not cut at all, as before passes were timed."""
        if self._timed_tokens < MIN_PASS_TOKENS or self._timed_seconds <= 0:
            return self.max_batch_tokens
        fits = int(PASS_SECONDS * self._timed_tokens / self._timed_seconds)
        if fits >= self.max_batch_tokens:
            return self.max_batch_tokens
        floor = min(MIN_PASS_TOKENS, self.max_batch_tokens)
        return max(floor, 1 << max(0, fits.bit_length() - 1))

    @property
    def budget_chars(self) -> int:
        """What one round takes before it stops waiting for company, in `_cost` units
        (characters, ~4 per token): one forward pass. Jobs within it are small."""
        return self.pass_tokens() * 4

    # -- worker side -------------------------------------------------------
    def _take(self, timeout: float | None) -> Job | None:
        """The next job, deferred ones first: waiting up to `timeout` seconds (None: until
        one comes; <= 0: not at all). None when there is none or the queue is stopped."""
        if self._carry:
            return self._carry.popleft()
        return self._take_queued(timeout)

    def _take_queued(self, timeout: float | None) -> Job | None:
        """The next job of the queue itself (not the deferred ones), as `_take` waits."""
        if self._stop_seen:
            return None
        try:
            if timeout is None:
                item = self._queue.get()
            elif timeout > 0:
                item = self._queue.get(timeout=timeout)
            else:
                item = self._queue.get_nowait()
        except queue.Empty:
            return None
        if item is _STOP:
            self._stop_seen = True
            return None
        return item  # type: ignore[no-any-return]

    def _round(self, first: Job, wait: bool) -> list[Job]:
        """`first` and the jobs that join it in one round, within the round's text budget.

        A job that would take the round past its budget (a bulk request) waits for
        the next round, first in line: the small jobs already here are not held up
        by its forward passes.
        """
        jobs = [first]
        cost = job_cost(first)
        until = time.monotonic() + (self.max_wait if wait else 0.0)
        while cost < self.budget_chars:
            nxt = self._take(until - time.monotonic())
            if nxt is None:
                break
            if cost + job_cost(nxt) > self.budget_chars:
                self._carry.appendleft(nxt)
                break
            jobs.append(nxt)
            cost += job_cost(nxt)
        with self._lock:
            self._queued_texts -= sum(len(j.inputs) for j in jobs)
        return jobs

    def _run(self) -> None:
        while (first := self._take(None)) is not None:
            self._process_safely(self._round(first, wait=True))

    def _process_safely(self, jobs: list[Job], nested: bool = False) -> None:
        try:
            self._process(jobs, nested)
        except BaseException as exc:  # never let the worker die silently
            log.exception("batcher %s failed", self.model.name)
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)

    def _let_small_jobs_in(self) -> None:
        """Between two forward passes of a round: serve small jobs that arrived meanwhile.

        A bulk request is computed in many passes; a dashboard's one-row query
        that arrives during them waits for one pass, not for the whole request.
        Only jobs within one round's budget go in between, and not recursively;
        a small job queued behind a bulk one still does (the bulk ones keep their
        order for the rounds after this one).
        """
        budget = self.budget_chars
        first: Job | None = None
        for k, deferred in enumerate(self._carry):
            if job_cost(deferred) <= budget:
                first = deferred
                del self._carry[k]
                break
        while first is None:
            queued = self._take_queued(0)
            if queued is None:
                return
            if job_cost(queued) <= budget:
                first = queued
            else:
                self._carry.append(queued)
        self.stats.preemptions += 1
        self._process_safely(self._round(first, wait=False), nested=True)

    def _drop_dead(self, live: list[Job], left: list[int], failed: set[int]) -> set[int]:
        """Indexes of `live` jobs nobody waits for any more, failed now (see the module).

        Checked before every pass: a cancelled caller or a passed deadline costs
        at most the pass in progress, not the job's remaining passes.
        """
        now = time.monotonic()
        dead: set[int] = set()
        for j, job in enumerate(live):
            if j in failed or job.future.done():
                continue
            if job.future.abandoned:
                self.stats.cancelled += 1
                error: BaseException = CancelledError(
                    f"the caller cancelled; {left[j]} of {len(job.inputs)} rows not computed"
                )
            elif job.expired(now):
                self.stats.dropped_deadline += 1
                error = DeadlineExceeded(
                    f"the request's deadline passed before it was computed "
                    f"({left[j]} of {len(job.inputs)} rows left)"
                )
            else:
                continue
            self.stats.abandoned_rows += left[j]
            job.future.set_exception(error)
            dead.add(j)
        return dead

    def _drop_expired(self, jobs: list[Job]) -> list[Job]:
        now = time.monotonic()
        live = []
        for job in jobs:
            if job.expired(now):
                self.stats.dropped_deadline += 1
                job.future.set_exception(
                    DeadlineExceeded("the request's deadline passed while it was queued")
                )
            else:
                live.append(job)
        return live

    def _process(self, jobs: list[Job], nested: bool = False) -> None:
        started = [j for j in jobs if j.future.set_running_or_notify_cancel()]
        self.stats.cancelled += len(jobs) - len(started)
        now = time.monotonic()
        self.stats.queue_wait_seconds += sum(now - j.queued_at for j in started)
        self.stats.started_jobs += len(started)
        encoded: dict[int, list[Any]] = {}
        live: list[Job] = []
        for job in self._drop_expired(started):
            try:
                encoded[id(job)] = self.model.encode(job.inputs, job.truncation)
            except TextlensError as exc:
                job.future.set_exception(exc)
                continue
            live.append(job)
        if not live:
            return
        # A small round's passes go before bulk passes of every model on the CPU lock.
        tokens = self.pass_tokens()
        small = nested or sum(job_cost(job) for job in live) <= tokens * 4
        self.stats.batches += 1
        items = [(j, i) for j, job in enumerate(live) for i in range(len(job.inputs))]
        items.sort(key=lambda ji: encoded[id(live[ji[0]])][ji[1]].length)
        outputs: list[list[Any]] = [[None] * len(job.inputs) for job in live]
        left = [len(job.inputs) for job in live]  # items still to compute, per job
        failed: set[int] = set()
        for n, chunk in enumerate(self._chunks(items, live, encoded, tokens)):
            if n and not nested:
                self._let_small_jobs_in()
            failed |= self._drop_dead(live, left, failed)
            chunk = [(j, i) for j, i in chunk if j not in failed]
            if not chunk:
                continue
            batch = [encoded[id(live[j])][i] for j, i in chunk]
            lock_wait_seconds()  # from zero: this pass's wait only
            forward_started = time.perf_counter()
            try:
                with pass_kind(small):
                    outs = self.model.forward(batch)
            except Exception as exc:
                log.exception("forward pass of %s failed", self.model.name)
                for j in {j for j, _ in chunk} - failed:
                    live[j].future.set_exception(exc)
                    failed.add(j)
                continue
            self.stats.forward_passes += 1
            self.stats.batch_rows += len(batch)
            seconds = time.perf_counter() - forward_started
            self.stats.forward_seconds += seconds
            longest = max(e.length for e in batch)
            self._timed_tokens += longest * len(batch)
            self._timed_seconds += max(0.0, seconds - lock_wait_seconds())
            self.stats.padded_tokens += longest * len(batch)
            self.stats.real_tokens += sum(e.length for e in batch)
            for (j, i), out in zip(chunk, outs, strict=True):
                outputs[j][i] = out
                left[j] -= 1
            for j in {j for j, _ in chunk}:
                if left[j] == 0:  # answered now, not after the round's other passes
                    self._finish(live[j], encoded[id(live[j])], outputs[j])
        for j, job in enumerate(live):  # jobs without texts; the rest are done already
            if j not in failed and not job.future.done():
                self._finish(job, encoded[id(job)], outputs[j])

    def _finish(self, job: Job, encoded: list[Any], outputs: list[Any]) -> None:
        try:
            job.future.set_result(self.model.finish(job, encoded, outputs))
        except Exception as exc:
            log.exception("post-processing of %s failed", self.model.name)
            job.future.set_exception(exc)

    def _chunks(
        self,
        items: list[tuple[int, int]],
        live: list[Job],
        encoded: dict[int, list[Any]],
        tokens: int,
    ) -> list[list[tuple[int, int]]]:
        """Cut length-sorted items into passes of at most `tokens` padded tokens."""
        chunks: list[list[tuple[int, int]]] = []
        current: list[tuple[int, int]] = []
        for j, i in items:
            length = encoded[id(live[j])][i].length
            if current and (len(current) + 1) * length > tokens:
                chunks.append(current)
                current = []
            current.append((j, i))
        if current:
            chunks.append(current)
        return chunks
