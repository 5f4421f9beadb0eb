"""The result cache: an LRU over (model fingerprint, task options, text hash).

Warehouse text repeats (the same review, the same product blurb on every row),
so every computed result is remembered across chunks and queries. Keys carry
the model's content fingerprint, so a retrained model never answers from a
stale entry; texts are keyed by a 128-bit BLAKE2b digest, so a million long
reviews cost 16 bytes of key each, not their length. Memory is bounded both by
entries and by an estimate of the bytes held. Thread-safe: DuckDB calls the
UDFs from several threads at once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from textlens.contract.results import ClassifyResult, Entity, SentimentResult

#: Bytes charged per entry on top of its value: key tuple, digest, dict and LRU links.
ENTRY_OVERHEAD = 240
DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

CacheKey = tuple[Hashable, ...]


def text_digest(text: str) -> bytes:
    """128-bit digest of a text: the cache key part that stands for the text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def estimate_bytes(value: object) -> int:
    """A cheap estimate of the memory a cached result holds (not exact; used for the bound)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 112
    if isinstance(value, SentimentResult):
        return 200 + 90 * len(value.probabilities)
    if isinstance(value, ClassifyResult):
        return 200 + 90 * len(value.scores)
    if isinstance(value, Entity):
        return 220 + len(value.text)
    if isinstance(value, list | tuple):
        return 64 + sum(8 + estimate_bytes(v) for v in value)
    return 64


@dataclass
class CacheStats:
    """Counters of the work a registration did and saved; `snapshot()` gives a copy.

    `rows` non-NULL rows reached the UDFs (`nulls` NULL ones, answered without
    work), of which `distinct` were distinct within their chunk; `items` are what the
    cache looked up: one per distinct text and options, or, for `aspect_sentiment` and
    `entity_sentiment`, one per distinct (text, target) pair, so there may be more
    items than rows; of those, `hits` came from the cache, `shared` from another
    thread computing the same text at the same time, and `misses` were
    `computed` by the backend in `calls` backend calls (one per chunk and
    model at most).
    """

    rows: int = 0
    nulls: int = 0
    chunks: int = 0
    distinct: int = 0
    items: int = 0
    hits: int = 0
    shared: int = 0
    misses: int = 0
    computed: int = 0
    calls: int = 0
    uncached: int = 0
    evictions: int = 0
    entries: int = 0
    bytes: int = 0

    @property
    def deduplicated(self) -> int:
        """Rows answered by another row of the same chunk (never negative: a row with
        several targets is one row, however many pairs it asks about)."""
        return self.rows - self.distinct

    @property
    def hit_rate(self) -> float:
        """Share of distinct items that needed no backend work."""
        return (self.hits + self.shared) / self.items if self.items else 0.0

    def snapshot(self) -> CacheStats:
        return CacheStats(**{f.name: getattr(self, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, int | float]:
        out: dict[str, int | float] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["deduplicated"] = self.deduplicated
        out["hit_rate"] = round(self.hit_rate, 4)
        return out


_MISSING = object()


class ResultCache:
    """A thread-safe LRU of computed results, bounded by entries and estimated bytes.

    Share one instance between registrations (`register(..., cache=...)`) to
    share results between connections; keys never collide across models.
    """

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError("cache bounds must be >= 0 (0 disables the cache)")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[CacheKey, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._evictions = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.max_bytes > 0

    def get_many(self, keys: Sequence[CacheKey]) -> list[Any]:
        """The cached value of each key, or `MISSING`; hits become most recently used."""
        out: list[Any] = []
        with self._lock:
            for key in keys:
                entry = self._data.get(key)
                if entry is None:
                    out.append(_MISSING)
                else:
                    self._data.move_to_end(key)
                    out.append(entry[0])
        return out

    def put_many(self, items: Sequence[tuple[CacheKey, Any]]) -> None:
        """Store values, evicting least recently used entries beyond the bounds."""
        if not self.enabled:
            return
        with self._lock:
            for key, value in items:
                size = ENTRY_OVERHEAD + estimate_bytes(value)
                if size > self.max_bytes:
                    continue  # would evict everything and still not fit
                old = self._data.pop(key, None)
                if old is not None:
                    self._bytes -= old[1]
                self._data[key] = (value, size)
                self._bytes += size
            while self._data and (
                len(self._data) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, (_, size) = self._data.popitem(last=False)
                self._bytes -= size
                self._evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def usage(self) -> tuple[int, int, int]:
        """(entries, estimated bytes, evictions so far)."""
        with self._lock:
            return len(self._data), self._bytes, self._evictions

    def __len__(self) -> int:
        return len(self._data)


MISSING: Any = _MISSING
