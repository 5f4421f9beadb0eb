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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from textlens.client.errors import ServerUnavailable
from textlens.client.limits import MAX_MESSAGE_BYTES
from textlens.client.results import ClassifyResult, Entity, ModelInfo, SentimentResult, Truncation

if TYPE_CHECKING:
    from textlens.client import Client
    from textlens.client.tls import TLSArg

T = TypeVar("T")

#: Upper bound of the text bytes per request (4 UTF-8 bytes per character, worst case).
REQUEST_TEXT_BYTES = MAX_MESSAGE_BYTES // 4
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
        self, client: Client, *, owns: bool = False, reconnect: Callable[[], Client] | None = None
    ) -> None:
        self.client = client
        self._owns = owns
        self._reconnect = reconnect
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls,
        target: str | None = None,
        *,
        timeout: float = 120.0,
        retries: int = 4,
        token: str | None = None,
        tls: TLSArg = None,
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

        return cls(new_client(), owns=True, reconnect=new_client)

    @property
    def target(self) -> str:
        return self.client.target

    def describe(self) -> str:
        return f"textlens server at {self.client.target}"

    def _call(self, fn: Callable[[Client], T]) -> T:
        """`fn(client)`; after ServerUnavailable once more on a fresh channel, if we own it."""
        client = self.client
        try:
            return fn(client)
        except ServerUnavailable:
            if self._reconnect is None:
                raise
        with self._lock:
            if self.client is client:  # the first thread to fail replaces it
                self.client = self._reconnect()
                client.close()
            client = self.client
        return fn(client)

    def list_models(self) -> list[ModelInfo]:
        return self._call(lambda c: c.list_models())

    def _part(self, call: Callable[[Client, list[str]], T], part: list[str]) -> T:
        return self._call(lambda client: call(client, part))

    def _each(
        self, texts: Sequence[str], call: Callable[[Client, list[str]], list[T | None]]
    ) -> list[T]:
        out: list[T] = []
        for part in split_by_size(texts):
            results = self._part(call, part)
            if any(r is None for r in results):  # the client maps None to None only
                raise RuntimeError("the textlens client answered None for a non-NULL text")
            out.extend(r for r in results if r is not None)
        return out

    def sentiment(
        self, texts: Sequence[str], model: str, truncation: Truncation
    ) -> list[SentimentResult]:
        return self._each(texts, lambda c, part: c.sentiment(part, model, truncation))

    def aspect_sentiment(
        self, texts: Sequence[str], targets: Sequence[str], model: str, truncation: Truncation
    ) -> list[SentimentResult | None]:
        out: list[SentimentResult | None] = []
        for part in split_by_size(texts):
            start = len(out)

            def call(c: Client, p: list[str], start: int = start) -> list[SentimentResult | None]:
                return c.aspect_sentiment(p, targets[start : start + len(p)], model, truncation)

            out.extend(self._part(call, part))
        return out

    def entities(
        self, texts: Sequence[str], model: str, truncation: Truncation
    ) -> list[list[Entity]]:
        return self._each(texts, lambda c, part: c.entities(part, model, truncation))

    def embed(self, texts: Sequence[str], model: str, truncation: Truncation) -> np.ndarray:
        parts = [
            np.asarray(
                self._part(lambda c, p: c.embed_array(p, model, truncation), part),
                dtype=np.float32,
            )
            for part in split_by_size(texts)
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

    def close(self) -> None:
        if self._owns:
            self.client.close()
