"""The embedded backend: the textlens runtime in this process, no server.

Needs the `models` extra (torch, transformers). Loading models is the slow
part, so every embedded registration in a process shares one runtime per
configuration (`shared_analyzer`); the runtime's batcher threads coalesce the
chunks DuckDB's threads hand over at the same time into full forward passes.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FuturesTimeout
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from textlens.contract.errors import DeadlineExceeded
from textlens.contract.limits import SQL_TIMEOUT
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
    from textlens.server.embedded import Analyzer

_SHARED: dict[str, Analyzer] = {}
_SHARED_LOCK = threading.Lock()


def _import_runtime() -> Any:
    try:
        from textlens.server import embedded
    except ImportError as exc:
        raise ImportError(
            f"the embedded DuckDB mode runs the models in-process and needs the `models` "
            f"extra ({exc}): pip install 'textlens[models,duckdb]', or pass target='host:port' "
            "(or set TEXTLENS_TARGET) to use a textlens server instead"
        ) from exc
    return embedded


def shared_analyzer(config: str | Path | None = None) -> Analyzer:
    """The process-wide runtime for a TOML config (None: $TEXTLENS_CONFIG or the defaults):
    its models, registry, and `[server]` threads and cache_dir.

    Loaded on first use and closed at interpreter exit.
    """
    key = str(Path(config).resolve()) if config is not None else ""
    with _SHARED_LOCK:
        analyzer = _SHARED.get(key)
        if analyzer is None:
            runtime = _import_runtime()
            # The configured models plus the registry's current versions, and the file's
            # [server] threads and cache_dir, as `textlens serve` (issue 22, item 15: only
            # the models were passed on, so threads and cache_dir were ignored). A broken
            # registered version falls back to an older one, as in `textlens serve` (item 7).
            analyzer = runtime.analyzer_for_config(config)
            if not _SHARED:
                atexit.register(_close_shared)
            _SHARED[key] = analyzer
        return analyzer


def _close_shared() -> None:
    with _SHARED_LOCK:
        for analyzer in _SHARED.values():
            analyzer.close(timeout=5)
        _SHARED.clear()


class EmbeddedBackend:
    """`Backend` over an in-process `Analyzer` (validation, batching, models)."""

    mode = "embedded"

    def __init__(
        self, analyzer: Analyzer, *, owns: bool = False, timeout: float | None = SQL_TIMEOUT
    ) -> None:
        self.analyzer = analyzer
        self._owns = owns
        #: Seconds one call may take, as a remote chunk's (None: no deadline). Work still
        #: queued at the deadline is dropped, not computed, and the call fails with
        #: DeadlineExceeded instead of holding the query forever.
        self.timeout = timeout

    @classmethod
    def load(
        cls, config: str | Path | None = None, *, timeout: float | None = SQL_TIMEOUT
    ) -> EmbeddedBackend:
        """Over the shared runtime of `config` (see `shared_analyzer`)."""
        return cls(shared_analyzer(config), timeout=timeout)

    def _deadline(self) -> float | None:
        return None if self.timeout is None else time.monotonic() + self.timeout

    def _wait(self, submitted: Any, what: str) -> Any:
        """The call's results, or DeadlineExceeded once its deadline has passed."""
        # A small margin: the batcher drops expired work itself and fails the future with
        # its own DeadlineExceeded; this wait is the net under it.
        wait = None if self.timeout is None else self.timeout + 1.0
        hint = "raise register(..., timeout=...) or send fewer texts per query"
        try:
            return submitted.result(timeout=wait)
        except DeadlineExceeded as exc:  # the batcher dropped work past the deadline
            raise DeadlineExceeded(
                f"embedded textlens {what}() passed its {self.timeout:g}s deadline ({exc}); {hint}"
            ) from None
        except FuturesTimeout:
            submitted.future.cancel()
            raise DeadlineExceeded(
                f"embedded textlens {what}() did not finish within its {self.timeout:g}s "
                f"deadline; {hint}"
            ) from None

    def describe(self) -> str:
        return "embedded textlens runtime (in-process)"

    def list_models(self) -> list[ModelInfo]:
        return self.analyzer.list_models()

    def sentiment(
        self, texts: Sequence[str], model: str, truncation: Truncation
    ) -> list[SentimentResult | NotScored]:
        submitted = self.analyzer.sentiment(texts, model, truncation, self._deadline())
        out: list[SentimentResult | NotScored] = self._wait(submitted, "sentiment")
        return out

    def aspect_sentiment(
        self, texts: Sequence[str], targets: Sequence[str], model: str, truncation: Truncation
    ) -> list[SentimentResult | NotScored | None]:
        submitted = self.analyzer.aspect_sentiment(
            texts, targets, model, truncation, self._deadline()
        )
        out: list[SentimentResult | NotScored | None] = self._wait(submitted, "aspect_sentiment")
        return out

    def entities(
        self, texts: Sequence[str], model: str, truncation: Truncation
    ) -> list[list[Entity] | NotScored]:
        submitted = self.analyzer.entities(texts, model, truncation, self._deadline())
        out: list[list[Entity] | NotScored] = self._wait(submitted, "entities")
        return out

    def embed(self, texts: Sequence[str], model: str, truncation: Truncation) -> np.ndarray:
        submitted = self.analyzer.embed(
            texts, model, truncation, normalize=True, deadline=self._deadline()
        )
        out: np.ndarray = self._wait(submitted, "embed")
        return out

    def classify(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        model: str,
        hypothesis_template: str,
        truncation: Truncation,
    ) -> list[ClassifyResult]:
        submitted = self.analyzer.classify(
            texts,
            labels,
            model,
            hypothesis_template,
            truncation=truncation,
            deadline=self._deadline(),
        )
        out: list[ClassifyResult] = self._wait(submitted, "classify")
        return out

    def language(self, texts: Sequence[str]) -> list[LanguageResult]:
        out: list[LanguageResult] = self.analyzer.language(texts).result()
        return out

    def close(self) -> None:
        """Closes the runtime only if this backend loaded it privately."""
        if self._owns:
            self.analyzer.close()
