"""Distinct texts in, results out: the cache, in-flight sharing and backend calls.

This is where "compute each distinct text once" happens. For a group of
distinct texts that share options, it looks every text up in the
cache, waits for texts another DuckDB thread is already computing, and sends
the rest to the backend in one call. Results are cached under the answering
model's fingerprint, resolved before the call by `ModelResolver`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from textlens.connectors.duckdb.backend import RUNTIME_TASK, Backend, ModelResolver
from textlens.connectors.duckdb.cache import MISSING, CacheKey, CacheStats, ResultCache, text_digest
from textlens.connectors.duckdb.targets import TARGET_TASKS
from textlens.contract.errors import InvalidInput
from textlens.contract.results import (
    ClassifyResult,
    ModelInfo,
    NotScored,
    SentimentResult,
    Truncation,
)


@dataclass(frozen=True)
class Call:
    """One task with its options, ready to run on a list of texts."""

    task: str
    runtime_task: str
    model: str
    key: tuple[Hashable, ...]
    run: Callable[[list[Any]], list[Any]]
    #: Label order of the scores maps: the labels given to classify, the model's
    #: labels for sentiment. A server's answer comes through protobuf maps, which
    #: keep no order; this makes MAP values identical in both modes.
    order: tuple[str, ...] = ()


def ordered(result: Any, order: tuple[str, ...]) -> Any:
    """`result` with its scores/probabilities dict in `order` (unknown keys last)."""
    if isinstance(result, SentimentResult):
        probs = result.probabilities
        if list(probs) != list(order):
            keys = [k for k in order if k in probs] + [k for k in probs if k not in order]
            return replace(result, probabilities={k: probs[k] for k in keys})
    elif isinstance(result, ClassifyResult):
        scores = result.scores
        if list(scores) != list(order):
            keys = [k for k in order if k in scores] + [k for k in scores if k not in order]
            return replace(result, scores={k: scores[k] for k in keys})
    return result


class CachedCompute:
    """Computes tasks for distinct texts over a backend, through a cache."""

    def __init__(
        self,
        backend: Backend,
        cache: ResultCache,
        *,
        truncation: Truncation = "truncate",
        version_ttl: float | None = None,
        embed_dim: int | None = None,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.truncation: Truncation = truncation
        self.embed_dim = embed_dim
        self.resolver = ModelResolver(backend.list_models, version_ttl)
        self._stats = CacheStats()
        self._stats_lock = threading.Lock()
        self._inflight: dict[CacheKey, tuple[Future[list[Any]], int]] = {}
        self._inflight_lock = threading.Lock()

    # --- counters ---------------------------------------------------------------

    def count(self, **deltas: int) -> None:
        with self._stats_lock:
            for name, delta in deltas.items():
                setattr(self._stats, name, getattr(self._stats, name) + delta)

    def stats(self) -> CacheStats:
        with self._stats_lock:
            out = self._stats.snapshot()
        out.entries, out.bytes, out.evictions = self.cache.usage()
        return out

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._stats = CacheStats()

    # --- calls ------------------------------------------------------------------

    def call(self, task: str, options: tuple[Any, ...]) -> Call:
        """The backend call for `task` with the UDF's option arguments."""
        backend, truncation = self.backend, self.truncation
        if task == "language":

            def detect(texts: list[str]) -> list[Any]:
                return list(backend.language(texts))

            return Call(task, task, "", (task,), detect)
        if task == "classify":
            labels, model, template = options
            labels = tuple(labels)

            def classify(texts: list[str]) -> list[Any]:
                return list(backend.classify(texts, labels, model, template, truncation))

            runtime_task = "embed" if labels else "classify"
            key = (task, labels, template, truncation)
            return Call(task, runtime_task, model, key, classify, order=labels)
        (model,) = options

        def run(texts: list[str]) -> list[Any]:
            if task == "sentiment":
                return list(backend.sentiment(texts, model, truncation))
            if task == "entities":
                return list(backend.entities(texts, model, truncation))
            # Own copies: a row view would keep the whole batch's matrix alive in the cache.
            return [np.array(v) for v in backend.embed(texts, model, truncation)]

        if task not in RUNTIME_TASK:
            raise ValueError(f"unknown task {task!r}")
        return Call(task, RUNTIME_TASK[task], model, (task, truncation), run)

    def results(self, task: str, options: tuple[Any, ...], texts: list[str]) -> list[Any]:
        """One result per distinct text, from the cache, another thread or the backend."""
        if task in TARGET_TASKS:
            return TARGET_TASKS[task](self, options, texts)
        return self.run(self.call(task, options), texts, text_digest)

    def pair_results(
        self, model: str, pairs: list[tuple[str, str]]
    ) -> list[SentimentResult | NotScored | None]:
        """Aspect sentiment of distinct (text, target) pairs, cached per pair."""
        if not pairs:
            return []
        backend, truncation = self.backend, self.truncation

        def run(items: list[Any]) -> list[Any]:
            texts, targets = [t for t, _ in items], [g for _, g in items]
            return list(backend.aspect_sentiment(texts, targets, model, truncation))

        call = Call("aspect", "aspect", model, ("aspect", truncation), run)
        return self.run(call, pairs, lambda pair: (text_digest(pair[0]), pair[1]))

    def run(self, call: Call, texts: list[Any], digest: Callable[[Any], Hashable]) -> list[Any]:
        """`call` over distinct items (texts, or pairs), through the cache keyed by `digest`."""
        # language() has no served model to resolve, so nothing to key a cache by; it is
        # not cached (detection costs microseconds a text; the UDF already folds duplicates).
        unlisted = call.runtime_task == "language"
        info = None if unlisted else self.resolver.resolve(call.runtime_task, call.model)
        if call.task == "embed":
            self._check_dim(info)
        if info is not None and info.labels and call.task in ("sentiment", "classify"):
            # The model's own labels (sentiment, fine-tuned classify) order the map.
            call = replace(call, order=call.order or tuple(info.labels))
        if info is None or not self.cache.enabled:
            # Unknown name (the backend raises the precise error) or no cache.
            out = self._compute(call, texts)
            self.count(items=len(texts), misses=len(texts), uncached=len(texts))
            return out
        # The fingerprint covers the weights; max_length and dtype change answers too, and
        # the language policy decides which texts are answered at all (a server switched
        # to other_languages = "score" must not keep answering NULL from the cache).
        policy = (tuple(info.languages), info.other_languages)
        prefix = (info.version, info.max_length, info.dtype, policy, *call.key)
        keys = [(*prefix, digest(t)) for t in texts]
        return self._cached(call, texts, keys)

    def _check_dim(self, info: ModelInfo | None) -> None:
        if info is not None and self.embed_dim and info.dim and info.dim != self.embed_dim:
            raise InvalidInput(
                f"embed model {info.name!r} makes {info.dim}-dim vectors, but embed() on this "
                f"connection returns FLOAT[{self.embed_dim}] (the default embed model's size); "
                f"register with models={{'embed': {info.name!r}}} to use it"
            )

    def _compute(self, call: Call, texts: list[Any]) -> list[Any]:
        try:
            out = call.run(texts)
        except Exception:
            self.resolver.invalidate()  # the server may have changed under us
            raise
        self.count(computed=len(texts), calls=1)
        return [ordered(r, call.order) for r in out] if call.order else out

    def _cached(self, call: Call, texts: list[Any], keys: Sequence[CacheKey]) -> list[Any]:
        results = self.cache.get_many(keys)
        owned: list[int] = []
        waiting: list[tuple[int, Future[list[Any]], int]] = []
        batch: Future[list[Any]] = Future()
        with self._inflight_lock:
            misses = [i for i, r in enumerate(results) if r is MISSING]
            # Again under the lock: a thread that computed one of these since the
            # lookup above stored it in the cache before un-claiming it.
            for i, value in zip(
                misses, self.cache.get_many([keys[i] for i in misses]), strict=True
            ):
                if value is not MISSING:
                    results[i] = value
                    continue
                claimed = self._inflight.get(keys[i])
                if claimed is not None:
                    waiting.append((i, *claimed))
                else:
                    self._inflight[keys[i]] = (batch, len(owned))
                    owned.append(i)
        hits = len(keys) - len(owned) - len(waiting)
        self.count(items=len(keys), hits=hits, shared=len(waiting), misses=len(owned))
        if owned:
            self._fill(call, texts, keys, owned, batch, results)
        for i, future, position in waiting:
            results[i] = future.result()[position]
        return results

    def _fill(
        self,
        call: Call,
        texts: list[Any],
        keys: Sequence[CacheKey],
        owned: list[int],
        batch: Future[list[Any]],
        results: list[Any],
    ) -> None:
        """Compute the texts this thread claimed; publish them to the cache and to waiters."""
        owned_keys = [keys[i] for i in owned]
        try:
            computed = self._compute(call, [texts[i] for i in owned])
        except BaseException as exc:
            batch.set_exception(exc)
            batch.exception()  # retrieved: no "never retrieved" noise when nobody waits
            raise
        else:
            batch.set_result(computed)
            self.cache.put_many(list(zip(owned_keys, computed, strict=True)))
        finally:
            with self._inflight_lock:
                for key in owned_keys:
                    self._inflight.pop(key, None)
        for i, value in zip(owned, computed, strict=True):
            results[i] = value
