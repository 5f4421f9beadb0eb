"""The remote backend: a textlens server over gRPC, through `textlens.client.Client`.

Needs no torch. The client already retries UNAVAILABLE and RESOURCE_EXHAUSTED
with backoff inside one deadline and releases the GIL while it waits, so
DuckDB's threads overlap their RPCs. Two things are specific to SQL use:

* A server restarted between (or during) queries must be usable at once. A
  gRPC channel that lost its server reconnects with exponential backoff (up
  to minutes) and fails calls fast meanwhile, so a re-run right after a
  restart would still fail. The backend's own channel reconnects within a
  second, and after a ServerUnavailable it is replaced by a fresh one and the
  call is tried once more.
* A chunk of unusually long texts is split to stay under the gRPC message limit.
* DuckDB calls a Python UDF one chunk at a time, so against several replicas
  (a list of targets, round-robin) one chunk is sent as `inflight` RPCs at
  once, one per replica by default, answers joined in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from textlens.client.deadline import operation_deadline
from textlens.contract.errors import ServerUnavailable
from textlens.contract.limits import MAX_MESSAGE_BYTES, SQL_TIMEOUT
from textlens.contract.results import (
    ClassifyResult,
    Entity,
    LanguageResult,
    ModelInfo,
    NotScored,
    SentimentResult,
    Truncation,
)

if TYPE_CHECKING:
    from textlens.client import Client
    from textlens.client.tls import TLSArg

T = TypeVar("T")

#: Upper bound of the text bytes per request (4 UTF-8 bytes per character, worst case).
REQUEST_TEXT_BYTES = MAX_MESSAGE_BYTES // 4
#: A chunk is split for parallel RPCs only into parts of at least this many texts.
MIN_PARALLEL_TEXTS = 64
#: Reconnect quickly after a server restart (gRPC's default backoff grows to 120 s).
RECONNECT_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
)


def split_by_size(texts: Sequence[str], budget: int = REQUEST_TEXT_BYTES) -> Iterator[list[str]]:
    """Consecutive runs of `texts` whose worst-case UTF-8 size fits `budget` (one at least)."""
    batch: list[str] = []
    used = 0
    for text in texts:
        size = 4 * len(text) + 16
        if batch and used + size > budget:
            yield batch
            batch, used = [], 0
        batch.append(text)
        used += size
    if batch:
        yield batch


class RemoteBackend:
    """`Backend` over a `textlens.client.Client` (one RPC per chunk in practice).

    `connect()` makes a backend that owns its client and replaces the client's
    channel after a ServerUnavailable (see the module docstring); a backend
    over your own `Client` uses it as it is.
    """

    mode = "remote"

    def __init__(
        self,
        client: Client,
        *,
        owns: bool = False,
        reconnect: Callable[[], Client] | None = None,
        inflight: int | None = None,
    ) -> None:
        from textlens.client.targets import address_count

        self.client = client
        self._owns = owns
        self._reconnect = reconnect
        self._lock = threading.Lock()
        #: Calls in progress per client (by id) and the clients replaced or closed while
        #: some were: such a client is closed by its last caller, never under a call.
        self._users: dict[int, int] = {}
        self._retired: dict[int, Client] = {}
        self._closed = False
        self.inflight = inflight if inflight is not None else address_count(client.target)
        if self.inflight < 1:
            raise ValueError(f"inflight must be >= 1, got {self.inflight}")
        self._pool = (
            ThreadPoolExecutor(self.inflight, "textlens-rpc") if self.inflight > 1 else None
        )

    @classmethod
    def connect(
        cls,
        target: str | Sequence[str] | None = None,
        *,
        timeout: float = SQL_TIMEOUT,
        retries: int = 4,
        token: str | None = None,
        tls: TLSArg = None,
        inflight: int | None = None,
    ) -> RemoteBackend:
        """A backend with its own client for `target` (None: $TEXTLENS_TARGET); `token`
        (None: $TEXTLENS_TOKEN) goes with every call; `tls` as for `Client`."""
        from textlens.client import Client
        from textlens.client.tls import resolve_tls

        secure = resolve_tls(tls) or False  # read the environment once, not per reconnect

        def new_client() -> Client:
            return Client(
                target,
                timeout=timeout,
                retries=retries,
                options=RECONNECT_OPTIONS,
                token=token,
                tls=secure,
            )

        return cls(new_client(), owns=True, reconnect=new_client, inflight=inflight)

    @property
    def target(self) -> str:
        return self.client.target

    def describe(self) -> str:
        return f"textlens server at {self.client.target}"

    def _acquire(self) -> Client:
        with self._lock:
            client = self.client
            self._users[id(client)] = self._users.get(id(client), 0) + 1
            return client

    def _release(self, client: Client) -> None:
        with self._lock:
            left = self._users[id(client)] - 1
            if left:
                self._users[id(client)] = left
                return
            del self._users[id(client)]
            retired = self._retired.pop(id(client), None)
        if retired is not None:
            retired.close()

    def _retire(self, client: Client) -> None:
        """Close `client` now if no call uses it, else when its last call ends (lock held)."""
        if id(client) in self._users:
            self._retired[id(client)] = client
        else:
            client.close()

    def _call(self, fn: Callable[[Client], T]) -> T:
        """`fn(client)`; after ServerUnavailable once more on a fresh channel, if we own it.

        A replaced client is closed only once no call is using it: other DuckDB
        threads may be inside its retry loop, and a closed channel fails them with a
        bare `ValueError: Cannot invoke RPC on closed channel!` (issue 22, item 19).
        """
        with operation_deadline(self.client.timeout):  # the reconnect try shares it
            return self._call_once_more_after_reconnect(fn)

    def _call_once_more_after_reconnect(self, fn: Callable[[Client], T]) -> T:
        client = self._acquire()
        try:
            return fn(client)
        except ServerUnavailable:
            if self._reconnect is None:
                raise
            with self._lock:
                if self.client is client and not self._closed:  # the first to fail replaces it
                    self.client = self._reconnect()
                    self._retired[id(client)] = client  # closed by its last caller
        finally:
            self._release(client)
        client = self._acquire()
        try:
            return fn(client)
        finally:
            self._release(client)

    def list_models(self) -> list[ModelInfo]:
        return self._call(lambda c: c.list_models())

    def answered_by(self) -> dict[str, int]:
        """{replica id: answers} of the current channel (see `Client.answered_by`)."""
        return self.client.answered_by()

    def _parts(self, texts: Sequence[str]) -> list[tuple[int, list[str]]]:
        """(offset, texts) per RPC: under the message limit, `inflight` ways where useful."""
        out: list[tuple[int, list[str]]] = []
        start = 0
        for part in split_by_size(texts):
            ways = min(self.inflight, max(1, len(part) // MIN_PARALLEL_TEXTS))
            size = -(-len(part) // ways)
            for i in range(0, len(part), size):
                out.append((start + i, part[i : i + size]))
            start += len(part)
        return out

    def _map(self, texts: Sequence[str], call: Callable[[Client, int, list[str]], T]) -> list[T]:
        """`call(client, offset, part)` for every part, concurrently, answers in order."""
        parts = self._parts(texts)

        def one(offset: int, part: list[str]) -> T:
            return self._call(lambda client: call(client, offset, part))

        if self._pool is None or len(parts) == 1:
            return [one(o, p) for o, p in parts]
        futures = [self._pool.submit(one, o, p) for o, p in parts]
        return [f.result() for f in futures]

    def _each(
        self, texts: Sequence[str], call: Callable[[Client, list[str]], list[T | None]]
    ) -> list[T]:
        out: list[T] = []
        for results in self._map(texts, lambda c, _, part: call(c, part)):
            if any(r is None for r in results):  # the client maps None to None only
                raise RuntimeError("the textlens client answered None for a non-NULL text")
            out.extend(r for r in results if r is not None)
        return out

    def sentiment(
        self, texts: Sequence[str], model: str, truncation: Truncation
    ) -> list[SentimentResult | NotScored]:
        return self._each(texts, lambda c, part: c.sentiment(part, model, truncation))

    def aspect_sentiment(
        self, texts: Sequence[str], targets: Sequence[str], model: str, truncation: Truncation
    ) -> list[SentimentResult | NotScored | None]:
        def call(
            c: Client, start: int, part: list[str]
        ) -> list[SentimentResult | NotScored | None]:
            return c.aspect_sentiment(part, targets[start : start + len(part)], model, truncation)

        return [r for results in self._map(texts, call) for r in results]

    def entities(
        self, texts: Sequence[str], model: str, truncation: Truncation
    ) -> list[list[Entity] | NotScored]:
        return self._each(texts, lambda c, part: c.entities(part, model, truncation))

    def embed(self, texts: Sequence[str], model: str, truncation: Truncation) -> np.ndarray:
        parts = [
            np.asarray(matrix, dtype=np.float32)
            for matrix in self._map(texts, lambda c, _, p: c.embed_array(p, model, truncation))
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def classify(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        model: str,
        hypothesis_template: str,
        truncation: Truncation,
    ) -> list[ClassifyResult]:
        return self._each(
            texts,
            lambda c, part: c.classify(
                part, list(labels) or None, model, hypothesis_template, truncation
            ),
        )

    def language(self, texts: Sequence[str]) -> list[LanguageResult]:
        return self._each(texts, lambda c, part: c.language(part))

    def close(self) -> None:
        """Stop; an owned client is closed once calls still running on it are done."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._owns:
            with self._lock:
                self._closed = True
                self._retire(self.client)
