"""Which replica answered: a count of the `textlens-replica` trailers a client has seen.

Ray Serve replicas name themselves in every reply's trailing metadata. When
a client spreads calls over replicas (round-robin targets, Serve's proxy),
this is how an operator, or a test, sees that the load really was spread.
The standalone server sends no such trailer, so the count stays empty.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

from textlens.contract.trailers import REPLICA_TRAILER


class ReplicaCounts:
    """Thread-safe {replica id: answers}, fed from each reply's trailing metadata."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, trailers: Iterable[tuple[str, str | bytes]] | None) -> None:
        for key, value in trailers or ():
            if key == REPLICA_TRAILER:
                name = value.decode() if isinstance(value, bytes) else value
                with self._lock:
                    self._counts[name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
