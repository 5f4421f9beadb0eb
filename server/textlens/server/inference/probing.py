"""Running the probe set through a task model on a given engine, and timing it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textlens.server.inference.probe_set import probe_pairs, probe_texts
from textlens.server.runtime.cpu_lock import lock_wait_seconds
from textlens.server.runtime.deferred import Stopped
from textlens.server.runtime.engine import Engine

if TYPE_CHECKING:
    from textlens.server.runtime.tasks import EncodedText, TaskModel

#: Rows per probe forward pass (the DuckDB chunk is split the same way by token budget).
PROBE_BATCH = 64


@dataclass
class ProbeRun:
    outputs: list[Any]  # per probe: probabilities, entity lists or vectors
    seconds: float  # the timed pass, warm-up excluded
    rows: int
    tokens: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


class Probe:
    """The probe set encoded once for one task model, in length-sorted batches."""

    def __init__(self, model: TaskModel, inputs: Sequence[Any] | None = None) -> None:
        """Over the packaged probe set, or `inputs` (the benchmark's rows)."""
        if inputs is None:
            inputs = probe_pairs() if model.task == "aspect" else probe_texts()
        self.model = model
        self.inputs = list(inputs)
        self.encoded = model.encode(self.inputs, "truncate")
        order = sorted(range(len(self.encoded)), key=lambda i: self.encoded[i].length)
        self.batches = [order[i : i + PROBE_BATCH] for i in range(0, len(order), PROBE_BATCH)]
        self.tokens = sum(e.length for e in self.encoded)

    def padded_tokens(self) -> int:
        """Tokens the batches compute, padding included."""
        return sum(len(b) * max(self.encoded[i].length for i in b) for b in self.batches)

    @property
    def kind(self) -> str:
        return {"ner": "spans", "embed": "vectors"}.get(self.model.task, "labels")

    def run(
        self, engine: Engine, repeats: int = 1, stopping: Callable[[], bool] | None = None
    ) -> ProbeRun:
        """One warm-up batch, then `repeats` timed passes (the fastest counts).

        The time spent waiting for the CPU lock is not the engine's: a measurement
        running beside served traffic (the background one) counts only its own passes.
        `stopping` is checked between batches (`Stopped` ends the run).
        """
        self._forward(engine, self.batches[-1][:8])
        best = float("inf")
        rows: list[Any] = [None] * len(self.encoded)
        for _ in range(repeats):
            lock_wait_seconds()  # from zero
            started = time.perf_counter()
            for batch in self.batches:
                if stopping is not None and stopping():
                    raise Stopped
                for i, out in zip(batch, self._forward(engine, batch), strict=True):
                    rows[i] = out
            best = min(best, time.perf_counter() - started - lock_wait_seconds())
        return ProbeRun(self._decoded(rows), best, len(rows), self.tokens)

    def _forward(self, engine: Engine, batch: list[int]) -> list[Any]:
        items: list[EncodedText] = [self.encoded[i] for i in batch]
        return self.model.forward(items, engine)

    def _decoded(self, rows: list[Any]) -> list[Any]:
        if self.kind != "spans":
            return rows
        from textlens.server.runtime.tasks import NerModel

        assert isinstance(self.model, NerModel)
        spans = self.model.spans
        return [spans(t, e, p) for t, e, p in zip(self.inputs, self.encoded, rows, strict=True)]
