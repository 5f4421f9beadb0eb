"""The batcher with a dummy model: coalescing, ordering, back-pressure, deadlines."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from textlens.client.errors import DeadlineExceeded, Overloaded, ShuttingDown, TextTooLong
from textlens.server.runtime.batcher import Batcher, Job


@dataclass
class Piece:
    text: str

    @property
    def length(self) -> int:
        return len(self.text) + 2


class EchoModel:
    """Upper-cases texts; records every forward pass; can be slowed down."""

    name = "echo"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.passes: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        #: Set when a forward pass starts: the worker has taken a job (explicit sync).
        self.entered = threading.Event()

    def encode(self, texts: Sequence[str], truncation: str) -> list[Piece]:
        if truncation == "error" and any(len(t) > 50 for t in texts):
            raise TextTooLong("too long")
        return [Piece(t) for t in texts]

    def forward(self, items: Sequence[Piece]) -> list[Any]:
        self.entered.set()
        self.gate.wait()
        time.sleep(self.delay)
        self.passes.append([p.text for p in items])
        return [p.text.upper() for p in items]

    def finish(self, job: Job, encoded: list[Piece], outputs: list[Any]) -> Any:
        return outputs


def make(model: EchoModel, **kw: Any) -> Batcher:
    opts = {"max_batch_tokens": 10_000, "max_wait_ms": 20.0, "max_queue_texts": 10_000} | kw
    return Batcher(model, **opts)


def test_concurrent_requests_are_coalesced_and_answered_in_order() -> None:
    model = EchoModel()
    batcher = make(model, max_wait_ms=50.0)
    requests = [
        [f"r{r}-t{i}-" + "x" * ((r * 7 + i) % 13) for i in range(1 + r % 5)] for r in range(80)
    ]
    with ThreadPoolExecutor(max_workers=80) as pool:
        results = list(pool.map(lambda texts: batcher.submit(texts).result(timeout=30), requests))
    for texts, result in zip(requests, results, strict=True):
        assert result == [t.upper() for t in texts]
    assert batcher.stats.requests == 80
    assert batcher.stats.forward_passes < 80
    assert sum(len(p) for p in model.passes) == sum(len(r) for r in requests)
    batcher.close()


def test_passes_respect_the_token_budget_and_sort_by_length() -> None:
    model = EchoModel()
    batcher = make(model, max_batch_tokens=40)
    texts = ["a" * n for n in (30, 1, 8, 2, 9, 3)]
    assert batcher.submit(texts).result(timeout=10) == [t.upper() for t in texts]
    for chunk in model.passes:
        assert len(chunk) * max(len(t) + 2 for t in chunk) <= 40 or len(chunk) == 1
    flat = [t for chunk in model.passes for t in chunk]
    assert flat == sorted(flat, key=len)
    batcher.close()


def test_full_queue_answers_overloaded_and_recovers() -> None:
    model = EchoModel()
    model.gate.clear()  # the worker blocks in its first forward pass
    batcher = make(model, max_queue_texts=4, max_wait_ms=0.0)
    first = batcher.submit(["a"])
    assert model.entered.wait(30)  # the worker has taken it and is blocked
    queued = batcher.submit(["b", "c", "d", "e"])
    with pytest.raises(Overloaded, match="back off"):
        batcher.submit(["f"])
    assert batcher.stats.rejected_overload == 1
    model.gate.set()
    assert first.result(timeout=10) == ["A"]
    assert queued.result(timeout=10) == ["B", "C", "D", "E"]
    assert batcher.submit(["g"]).result(timeout=10) == ["G"]
    batcher.close()


def test_expired_jobs_are_dropped_not_computed() -> None:
    model = EchoModel()
    model.gate.clear()
    batcher = make(model, max_wait_ms=0.0)
    blocker = batcher.submit(["block"])
    assert model.entered.wait(30)  # the worker is blocked in the blocker's pass
    deadline = time.monotonic() + 0.05
    late = batcher.submit(["late"], deadline=deadline)
    while time.monotonic() < deadline + 0.01:  # a point in time, not another thread's progress
        time.sleep(0.01)
    model.gate.set()
    assert blocker.result(timeout=10) == ["BLOCK"]
    with pytest.raises(DeadlineExceeded):
        late.result(timeout=10)
    assert batcher.stats.dropped_deadline == 1
    assert all("late" not in chunk for chunk in model.passes)
    batcher.close()


def test_a_bad_job_fails_alone() -> None:
    model = EchoModel()
    batcher = make(model, max_wait_ms=100.0)
    good = batcher.submit(["fine"], truncation="error")
    bad = batcher.submit(["x" * 60], truncation="error")
    assert good.result(timeout=10) == ["FINE"]
    with pytest.raises(TextTooLong):
        bad.result(timeout=10)
    batcher.close()


def test_close_finishes_queued_work_then_refuses() -> None:
    model = EchoModel(delay=0.05)
    batcher = make(model)
    futures = [batcher.submit([f"t{i}"]) for i in range(5)]
    batcher.close()
    assert [f.result(timeout=10) for f in futures] == [[f"T{i}"] for i in range(5)]
    with pytest.raises(ShuttingDown):
        batcher.submit(["late"])


class CloseWhilePutting:
    """The batcher's queue, with `close()` run from another thread while a job is put.

    Forces the interleaving of issue 22 item 19: `submit` has passed its closed
    check and is about to queue its job when `close` runs. `close` gets one second
    to finish first; if it does, its stop marker is queued before the job.
    """

    def __init__(self, batcher: Batcher) -> None:
        self.inner = batcher._queue
        self.batcher = batcher
        self.closer: threading.Thread | None = None

    def put(self, item: Any) -> None:
        if isinstance(item, Job) and self.closer is None:
            self.closer = threading.Thread(target=self.batcher.close, args=(30,))
            self.closer.start()
            self.closer.join(1.0)  # before the fix: close() returns here, marker queued
        self.inner.put(item)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_job_submitted_while_closing_is_computed_not_lost() -> None:
    """Issue 22 item 19: before the fix this job waited forever (its caller too)."""
    model = EchoModel()
    batcher = make(model, max_wait_ms=0.0)
    racing = CloseWhilePutting(batcher)
    batcher._queue = racing  # type: ignore[assignment]
    future = batcher.submit(["late"])
    assert future.result(timeout=10) == ["LATE"]
    assert racing.closer is not None
    racing.closer.join(30)
    assert not racing.closer.is_alive()
    with pytest.raises(ShuttingDown):
        batcher.submit(["later"])


def test_cancelling_a_running_job_stops_its_remaining_passes() -> None:
    """Issue 22 item 5: a caller that gives up mid-job costs the pass in progress only."""
    model = EchoModel()
    model.gate.clear()
    batcher = make(model, max_batch_tokens=14, max_wait_ms=0.0)  # 2 rows per pass
    future = batcher.submit([f"row{i}" for i in range(20)])
    assert model.entered.wait(30)  # the first pass is running
    assert not future.cancel()  # started: a plain Future would go on to the end
    model.gate.set()
    with pytest.raises(CancelledError, match="rows not computed"):
        future.result(timeout=10)
    assert [len(p) for p in model.passes] == [2]
    assert batcher.stats.cancelled == 1 and batcher.stats.abandoned_rows == 18
    assert batcher.submit(["next"]).result(timeout=10) == ["NEXT"]  # the model is free
    batcher.close()


def test_a_passed_deadline_stops_a_running_job() -> None:
    """Deadlines hold between passes too, for every row of the job, not only queued ones."""
    model = EchoModel()
    model.gate.clear()
    batcher = make(model, max_batch_tokens=14, max_wait_ms=0.0)
    deadline = time.monotonic() + 0.2
    future = batcher.submit([f"row{i}" for i in range(20)], deadline=deadline)
    assert model.entered.wait(30)
    while time.monotonic() < deadline + 0.01:  # a point in time, not another thread's progress
        time.sleep(0.01)
    model.gate.set()
    with pytest.raises(DeadlineExceeded, match="18 of 20 rows left"):
        future.result(timeout=10)
    assert [len(p) for p in model.passes] == [2] and batcher.stats.abandoned_rows == 18
    batcher.close()


def test_many_short_rows_are_bulk_not_a_small_job() -> None:
    """Issue 22 item 5: a small job is small in rows too, not only in characters.

    30 one-letter rows (a sentence-mode text of 30 short sentences) have 30
    characters but take several passes; before the fix they counted as small
    and all their passes ran in between two passes of the bulk job. A small
    job queued behind them still goes in between.
    """
    model = EchoModel()
    model.gate.clear()
    batcher = make(model, max_batch_tokens=40, max_wait_ms=0.0)  # one round: 160 chars
    bulk = batcher.submit([f"bulk{i:02d}xxxx" for i in range(20)])
    assert model.entered.wait(30)
    rows = batcher.submit(["a"] * 30)
    small = batcher.submit(["z"])
    model.gate.set()
    assert bulk.result(timeout=10) == [f"BULK{i:02d}XXXX" for i in range(20)]
    assert rows.result(timeout=10) == ["A"] * 30
    assert small.result(timeout=10) == ["Z"]
    order = [t for chunk in model.passes for t in chunk]
    last_bulk = max(i for i, t in enumerate(order) if t.startswith("bulk"))
    assert order.index("z") < last_bulk  # the small job went in between
    assert order.index("a") > last_bulk  # the 30 rows waited for their turn
    assert batcher.stats.preemptions == 1
    batcher.close()


def test_passes_say_whether_their_round_is_small() -> None:
    """The CPU lock serves small rounds first: the batcher marks each pass's kind."""
    from textlens.server.runtime.cpu_lock import is_small_pass

    kinds: list[tuple[int, bool]] = []

    class KindModel(EchoModel):
        def forward(self, items: Sequence[Piece]) -> list[Any]:
            kinds.append((len(items), is_small_pass()))
            return super().forward(items)

    model = KindModel()
    batcher = make(model, max_batch_tokens=40, max_wait_ms=0.0)
    assert batcher.submit(["one"]).result(timeout=10) == ["ONE"]
    assert batcher.submit([f"bulk{i:02d}xxxx" for i in range(20)]).result(timeout=10)
    assert kinds[0] == (1, True)
    assert len(kinds) > 2 and not any(small for _, small in kinds[1:])
    assert not is_small_pass()  # the worker's mark does not leak to this thread
    batcher.close()


def test_passes_are_cut_to_about_pass_seconds_of_measured_compute() -> None:
    """Issue 22 items 5 and 8: a small job waits for one short pass, not a 2-second one.

    Each pass of this model sleeps 50 ms, so 2,000 padded tokens measured take at
    least 50 ms and a pass may hold at most PASS_SECONDS / 50 ms x 2,000 tokens.
    """
    from textlens.server.runtime.batcher import MIN_PASS_TOKENS, PASS_SECONDS

    model = EchoModel(delay=0.05)
    batcher = make(model, max_batch_tokens=100_000, max_wait_ms=0.0)
    assert batcher.pass_tokens() == 100_000  # nothing measured yet: not cut
    batcher.submit(["x" * 8] * 200).result(timeout=30)  # one pass of 200 x 10 tokens
    cap = int(PASS_SECONDS / 0.05 * 2000)
    tokens = batcher.pass_tokens()
    assert MIN_PASS_TOKENS <= tokens <= cap
    assert tokens & (tokens - 1) == 0  # a power of two: stable between measurements
    model.passes.clear()
    batcher.submit(["y" * 8] * 3000).result(timeout=60)  # 30,000 tokens
    assert len(model.passes) >= 30_000 // cap
    assert all(len(p) * 10 <= cap for p in model.passes)
    batcher.close()


def test_the_queue_counts_sentence_rows_not_texts() -> None:
    """Issue 22 item 5: with `sentences = true` a text is one queued row per sentence.

    2 texts of 3 sentences are 6 rows: with 1 row queued and `max_queue_texts = 5`
    they are refused, though 1 + 2 texts would fit.
    """
    from textlens.server.runtime.analyzer import Analyzer
    from textlens.server.runtime.registry import ModelRegistry, ServedModel
    from textlens.server.settings import ModelSpec

    model = EchoModel()
    model.gate.clear()
    batcher = make(model, max_queue_texts=5, max_wait_ms=0.0)
    spec = ModelSpec(name="echo", task="sentiment", source="unused", sentences=True)
    analyzer = Analyzer(ModelRegistry([ServedModel(spec, model, batcher, 0.0)]))  # type: ignore[arg-type]
    running = batcher.submit(["running"])
    assert model.entered.wait(30)  # the worker holds it; the queue is empty
    queued = batcher.submit(["queued"])
    with pytest.raises(Overloaded, match="1 rows queued and this request is 6 "):
        analyzer.sentiment(["One is here. Two is here. Three is here."] * 2)
    assert batcher.queued_texts == 1
    model.gate.set()
    assert running.result(timeout=10) == ["RUNNING"] and queued.result(timeout=10) == ["QUEUED"]
    batcher.close()
