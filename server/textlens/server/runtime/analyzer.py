"""The transport-free request handler: validation, model choice, submission.

The gRPC servicer and the in-process (embedded) DuckDB mode both call this,
so they validate identically and return identical results. Every method
returns a `Submitted`: the model that answers and a Future of its results;
async callers wrap the future, sync callers call `.result()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textlens.contract.errors import (
    InvalidInput,
    ShuttingDown,
    TextTooLong,
    TooManyTexts,
    WrongTask,
)
from textlens.contract.results import NOT_SCORED_EMPTY, TRUNCATIONS, ModelInfo, NotScored
from textlens.server.runtime.aspects import MAX_TARGET_CHARS, mentions
from textlens.server.runtime.documents import Reading, document, readings, sentences
from textlens.server.runtime.ratings import rated
from textlens.server.runtime.registry import ModelRegistry, ServedModel
from textlens.server.runtime.relay import RowNames
from textlens.server.runtime.relay import mapped as _mapped
from textlens.server.runtime.relay import renamed as _renamed
from textlens.server.runtime.relay import spread as _spread
from textlens.server.runtime.request_checks import (
    refuse_cheaply,
    zero_shot_hypotheses,
)
from textlens.server.runtime.screening import screened
from textlens.server.runtime.tasks import EmbedModel

if TYPE_CHECKING:
    from textlens.server.language.detector import LanguageDetector

#: The sentiment of an empty or whitespace-only text: not an opinion (`screening.screened`).
BLANK = NotScored(NOT_SCORED_EMPTY, "", 0.0)


@dataclass
class Submitted:
    """A request on its way: who answers it, and the future of its results."""

    model: ServedModel
    future: Future[Any]

    def result(self, timeout: float | None = None) -> Any:
        return self.future.result(timeout)


@dataclass
class Detected:
    """A language request on its way: the detector's served name and version, and the
    future of its list[LanguageResult]. Not a `Submitted`: no registry model or batcher
    answers it (the detector is one small CPU model held by the Analyzer)."""

    name: str
    version: str
    future: Future[Any]

    def result(self, timeout: float | None = None) -> Any:
        return self.future.result(timeout)


def _done(model: ServedModel, value: Any) -> Submitted:
    future: Future[Any] = Future()
    future.set_result(value)
    return Submitted(model, future)


class Analyzer:
    """Validates requests and routes them to the registry's batchers."""

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        max_texts_per_request: int = 8192,
        max_text_chars: int = 4_000_000,
    ) -> None:
        self.registry = registry
        self.max_texts = max_texts_per_request
        self.max_text_chars = max_text_chars
        self.closing = False
        # The language detector and the thread it runs on: made on the first language()
        # call (most servers never get one), under the lock so two first calls load once.
        self._language_lock = threading.Lock()
        self._detector: LanguageDetector | None = None
        self._language_pool: ThreadPoolExecutor | None = None

    def _check(self, texts: Sequence[str], truncation: str) -> list[str]:
        if self.closing:
            raise ShuttingDown("the server is shutting down; retry on another server or later")
        if truncation not in TRUNCATIONS:
            raise InvalidInput(f"truncation must be one of {TRUNCATIONS}, not {truncation!r}")
        if len(texts) > self.max_texts:
            raise TooManyTexts(
                f"{len(texts)} texts in one request; the limit is {self.max_texts}. "
                "Split the batch (the client does this for you)"
            )
        out = list(texts)
        for i, text in enumerate(out):
            if not isinstance(text, str):
                raise InvalidInput(f"text #{i} is {type(text).__name__}, not str")
            if len(text) > self.max_text_chars:
                raise InvalidInput(
                    f"text #{i} has {len(text)} characters; the server accepts at most "
                    f"{self.max_text_chars} per text"
                )
        return out

    def _submit(
        self,
        model: ServedModel,
        inputs: list[Any],
        truncation: str,
        deadline: float | None,
        options: dict[str, Any] | None = None,
        names: RowNames | None = None,
    ) -> Submitted:
        if truncation == "error":
            try:
                refuse_cheaply(model, inputs)
            except TextTooLong as exc:
                raise _renamed(exc, names) from None
        return Submitted(model, model.batcher.submit(inputs, truncation, deadline, options))

    def sentiment(
        self,
        texts: Sequence[str],
        model: str = "",
        truncation: str = "truncate",
        deadline: float | None = None,
    ) -> Submitted:
        """Future of list[SentimentResult | NotScored]; by sentence for models served with
        `sentences` (the language is the whole text's)."""
        served = self.registry.get("sentiment", model)
        inputs = self._check(texts, truncation)
        if not inputs:
            return _done(served, [])

        def run(kept: list[int]) -> Future[Any]:
            return self._sentiment(served, kept, [inputs[i] for i in kept], truncation, deadline)

        return Submitted(served, self._screened(served, inputs, run, BLANK))

    def _sentiment(
        self,
        served: ServedModel,
        index: list[int],
        inputs: list[str],
        truncation: str,
        deadline: float | None,
    ) -> Future[Any]:
        """Future of the sentiment of `inputs`, which are the request's texts #`index`."""
        reads: list[Reading] = []
        if served.spec.sentences:
            fits = getattr(served.model, "fits", None)  # a model without a tokenizer: split all
            reads = readings(inputs, fits) if fits else [Reading(sentences(t)) for t in inputs]
        if not reads or sum(len(r.units) for r in reads) == len(inputs):

            def whole(row: int) -> str:
                return f"text #{index[row]}"

            inner = self._submit(served, inputs, truncation, deadline, names=whole)
            if not served.spec.sentences:
                return _mapped(inner.future, list, whole)

            def read(results: list[Any]) -> list[Any]:  # a stated star rating decides
                return [rated(text, r) for text, r in zip(inputs, results, strict=True)]

            return _mapped(inner.future, read, whole)
        owners = [(t, k) for t, r in enumerate(reads) for k in range(len(r.units))]

        def names(row: int) -> str:
            t, k = owners[row]
            text = f"text #{index[t]}"
            k -= reads[t].whole  # units[0] of a text read whole too is the text itself
            return f"sentence {k + 1} of {text}" if k >= 0 and len(reads[t].units) > 1 else text

        flat = [u for r in reads for u in r.units]
        inner = self._submit(served, flat, truncation, deadline, names=names)

        def documents(results: list[Any]) -> list[Any]:
            out, start = [], 0
            for r in reads:
                out.append(document(r, results[start : start + len(r.units)]))
                start += len(r.units)
            return out

        return _mapped(inner.future, documents, names)

    def aspect_sentiment(
        self,
        texts: Sequence[str],
        targets: Sequence[str],
        model: str = "",
        truncation: str = "truncate",
        deadline: float | None = None,
    ) -> Submitted:
        """Future of list[SentimentResult | NotScored | None]: pair i is (texts[i], targets[i]).

        None where the text does not mention the target (`aspects.mentions`), NotScored
        where it is in a language the model does not read: neither reaches the model.
        """
        served = self.registry.get("aspect", model)
        inputs = self._check(texts, truncation)
        goals = list(targets)
        if len(goals) != len(inputs):
            raise InvalidInput(
                f"{len(inputs)} texts but {len(goals)} targets; aspect sentiment takes one "
                "target per text (repeat a text once per target)"
            )
        for i, target in enumerate(goals):
            if not isinstance(target, str):
                raise InvalidInput(f"target #{i} is {type(target).__name__}, not str")
            if len(target) > MAX_TARGET_CHARS:
                raise InvalidInput(
                    f"target #{i} has {len(target)} characters; a target is a word or a short "
                    f"phrase of at most {MAX_TARGET_CHARS}"
                )
        # Every pair with a target is screened, mentioned or not: a refused text is
        # NotScored whatever its targets (CJK names are never "mentioned" as whole words).
        posed = [i for i, goal in enumerate(goals) if goal.strip()]
        if not posed:
            return _done(served, [None] * len(inputs))

        def run(kept: list[int]) -> Future[Any]:
            rows = [posed[k] for k in kept]
            asked = [k for k, i in enumerate(rows) if mentions(inputs[i], goals[i])]
            if not asked:
                return _done(served, [None] * len(kept)).future

            def names(row: int) -> str:
                return f"text #{rows[asked[row]]}"

            pairs = [(inputs[rows[k]], goals[rows[k]]) for k in asked]
            inner = self._submit(served, pairs, truncation, deadline, names=names)
            return _mapped(inner.future, lambda results: _spread(results, asked, len(kept)), names)

        screened = self._screened(served, [inputs[i] for i in posed], run)
        return Submitted(
            served, _mapped(screened, lambda found: _spread(found, posed, len(inputs)))
        )

    def entities(
        self,
        texts: Sequence[str],
        model: str = "",
        truncation: str = "truncate",
        deadline: float | None = None,
    ) -> Submitted:
        """Future of list[list[Entity] | NotScored]."""
        served = self.registry.get("ner", model)
        inputs = self._check(texts, truncation)
        if not inputs:
            return _done(served, [])

        def run(kept: list[int]) -> Future[Any]:
            def names(row: int) -> str:
                return f"text #{kept[row]}"

            inner = self._submit(
                served, [inputs[i] for i in kept], truncation, deadline, None, names
            )
            return _mapped(inner.future, list, names)

        return Submitted(served, self._screened(served, inputs, run))

    def _screened(
        self,
        served: ServedModel,
        texts: list[str],
        run: Callable[[list[int]], Future[Any]],
        blank: NotScored | None = None,
    ) -> Future[Any]:
        """`run` over the texts the model's language policy lets through (`screening`)."""
        return screened(served.policy, texts, self._detect, run, blank)

    def _detect(self, texts: list[str]) -> Future[Any]:
        detector, pool = self._language()
        return pool.submit(detector.detect, texts)

    def embed(
        self,
        texts: Sequence[str],
        model: str = "",
        truncation: str = "truncate",
        deadline: float | None = None,
        normalize: bool = True,
    ) -> Submitted:
        """Future of a float32 array (len(texts), dim)."""
        served = self.registry.get("embed", model)
        inputs = self._check(texts, truncation)
        if not inputs:
            import numpy as np

            return _done(served, np.zeros((0, self.dim(served)), dtype=np.float32))
        return self._submit(served, inputs, truncation, deadline, {"normalize": normalize})

    def classify(
        self,
        texts: Sequence[str],
        labels: Sequence[str] = (),
        model: str = "",
        hypothesis_template: str = "",
        truncation: str = "truncate",
        deadline: float | None = None,
    ) -> Submitted:
        """Future of list[ClassifyResult]: zero-shot with `labels`, else a fine-tuned model."""
        labels = list(labels)
        if labels:
            served = self._zero_shot_model(model)
            hypotheses = zero_shot_hypotheses(labels, hypothesis_template)
            inputs = self._check(texts, truncation)
            if not inputs:
                return _done(served, [])
            n = len(inputs)

            def names(row: int) -> str:
                return f"text #{row}" if row < n else f"candidate label #{row - n}"

            inner = self._submit(
                served, inputs + hypotheses, truncation, deadline, {"labels": labels}, names
            )
            return Submitted(served, _mapped(inner.future, lambda results: results, names))
        if not model and "classify" not in self.registry.defaults:
            raise InvalidInput(
                "give candidate labels for zero-shot classification, or name a fine-tuned "
                f"classify model (served: {self.registry.describe()})"
            )
        served = self.registry.get("classify", model)
        inputs = self._check(texts, truncation)
        if not inputs:
            return _done(served, [])
        return self._submit(served, inputs, truncation, deadline)

    def _zero_shot_model(self, model: str) -> ServedModel:
        if model and model in self.registry.models:
            task = self.registry.models[model].spec.task
            if task == "classify":
                raise WrongTask(
                    f"model {model!r} is a fine-tuned classifier with its own labels "
                    f"{self.registry.models[model].model.labels}; send no labels to use it"
                )
        return self.registry.get("embed", model)

    def language(self, texts: Sequence[str]) -> Detected:
        """Future of list[LanguageResult]: the language of each text ("und": too few letters).

        Validated like every task; detection (microseconds a text) runs on the
        detector's own thread, so an event loop awaiting it is never blocked.
        """
        inputs = self._check(texts, "truncate")
        detector, pool = self._language()
        if not inputs:
            future: Future[Any] = Future()
            future.set_result([])
            return Detected(detector.name, detector.version, future)
        return Detected(detector.name, detector.version, pool.submit(detector.detect, inputs))

    def _language(self) -> tuple[LanguageDetector, ThreadPoolExecutor]:
        with self._language_lock:
            if self._detector is None or self._language_pool is None:
                from textlens.server.language.detector import LanguageDetector

                self._detector = LanguageDetector()
                self._language_pool = ThreadPoolExecutor(1, thread_name_prefix="textlens-lid")
            return self._detector, self._language_pool

    @staticmethod
    def dim(served: ServedModel) -> int:
        model = served.model
        return model.dim if isinstance(model, EmbedModel) else 0

    def list_models(self) -> list[ModelInfo]:
        return self.registry.infos()

    def close(self, timeout: float | None = None) -> None:
        self.closing = True
        self.registry.close(timeout)
        with self._language_lock:
            if self._language_pool is not None:
                self._language_pool.shutdown(wait=False, cancel_futures=True)
