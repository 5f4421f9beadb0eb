"""What the UDFs need from textlens, and how a model name becomes a fingerprint.

Two backends implement `Backend`: `EmbeddedBackend` calls the runtime in this
process, `RemoteBackend` calls a server through `textlens.client.Client`. Both
hand back the plain result types of `textlens.client.results`, so the UDF
layer is written once and the same SQL gives the same answers in both modes.
Backends never see NULLs or duplicates: the UDF layer removes them first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from textlens.contract.results import (
    ClassifyResult,
    Entity,
    LanguageResult,
    ModelInfo,
    NotScored,
    SentimentResult,
    Truncation,
)

#: The runtime task each SQL task runs on (zero-shot classify runs on an embed model).
RUNTIME_TASK = {"sentiment": "sentiment", "entities": "ner", "embed": "embed", "aspect": "aspect"}


@runtime_checkable
class Backend(Protocol):
    """Batched calls over non-NULL texts; results in input order, one per text."""

    @property
    def mode(self) -> str:
        """`embedded` or `remote`."""
        ...

    def describe(self) -> str:
        """Where the models run, for error messages: "textlens server at host:port"."""
        ...

    def list_models(self) -> list[ModelInfo]: ...

    def sentiment(
        self, texts: Sequence[str], model: str, truncation: Truncation
    ) -> list[SentimentResult | NotScored]: ...

    def aspect_sentiment(
        self, texts: Sequence[str], targets: Sequence[str], model: str, truncation: Truncation
    ) -> list[SentimentResult | NotScored | None]:
        """Pair i is (texts[i], targets[i]); None where the text does not mention the target."""
        ...

    def entities(
        self, texts: Sequence[str], model: str, truncation: Truncation
    ) -> list[list[Entity] | NotScored]: ...

    def embed(self, texts: Sequence[str], model: str, truncation: Truncation) -> np.ndarray:
        """Unit-length float32 vectors, shape (len(texts), dim)."""
        ...

    def classify(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        model: str,
        hypothesis_template: str,
        truncation: Truncation,
    ) -> list[ClassifyResult]: ...

    def language(self, texts: Sequence[str]) -> list[LanguageResult]:
        """The language of each text (the server's lid.176 detector; no model to choose)."""
        ...

    def close(self) -> None: ...


class ModelResolver:
    """Model name ("" = the task's default) -> the `ModelInfo` that will answer.

    The UDFs key cached results by the answering model's content fingerprint,
    so they must know which model a name resolves to before calling. The model
    list is read once, and again after `ttl` seconds (a remote server may be
    restarted with retrained models) or when a name is not found. A name that
    still resolves to nothing gives None: the caller then lets the backend
    answer, which raises the server's own UnknownModel/WrongTask error.
    """

    def __init__(self, list_models: Callable[[], list[ModelInfo]], ttl: float | None) -> None:
        self._list_models = list_models
        self._ttl = ttl
        self._lock = threading.Lock()
        self._models: list[ModelInfo] | None = None
        self._read_at = 0.0

    def models(self, refresh: bool = False) -> list[ModelInfo]:
        with self._lock:
            stale = self._ttl is not None and time.monotonic() - self._read_at > self._ttl
            if self._models is None or refresh or stale:
                self._models = self._list_models()
                self._read_at = time.monotonic()
            return self._models

    def invalidate(self) -> None:
        """Forget the model list (after an error: the server may have changed)."""
        with self._lock:
            self._models = None

    def resolve(self, task: str, name: str) -> ModelInfo | None:
        """The model serving runtime `task` under `name`, or None when unknown."""
        found = self._find(self.models(), task, name)
        if found is None:
            found = self._find(self.models(refresh=True), task, name)
        return found

    @staticmethod
    def _find(models: list[ModelInfo], task: str, name: str) -> ModelInfo | None:
        for info in models:
            if info.task != task:
                continue
            if (name and info.name == name) or (not name and info.is_default):
                return info
        return None
