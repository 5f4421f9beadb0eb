"""The batcher with a dummy model: coalescing, ordering, back-pressure, deadlines."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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
