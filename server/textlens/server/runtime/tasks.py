"""Task models: tokenize, forward, post-process — the three steps the batcher runs.

Each class wraps one `LoadedModel`. `encode` runs on the worker thread (so a
2048-text chunk never blocks the event loop), `forward` runs one padded batch
on the model's engine, and `finish` turns one job's raw outputs into
the plain result types of `textlens.contract.results`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from textlens.contract.errors import TextTooLong
from textlens.contract.results import ClassifyResult, Entity, SentimentResult
from textlens.server.runtime.aspects import pair_input
from textlens.server.runtime.batcher import Job
from textlens.server.runtime.engine import Engine
from textlens.server.runtime.loading import LoadedModel
from textlens.server.runtime.networks import casing_ids_for

#: Under `truncate`, text beyond this many characters per allowed token is cut
#: before tokenizing (a 1 MB text costs no more than a long paragraph).
CHARS_PER_TOKEN_CAP = 64
#: Zero-shot similarity temperature (sentence-transformers' scale of 20).
ZERO_SHOT_TEMPERATURE = 0.05


@dataclass
class EncodedText:
    """One tokenized text (special tokens included)."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    word_ids: list[int | None]
    casing: list[int] | None

    @property
    def length(self) -> int:
        return len(self.ids)


def too_long(row: int, detail: str) -> TextTooLong:
    """TextTooLong for row `row` of a job, e.g. "text #3 of the request has 300 tokens; ...".

    A job's rows are not always the request's texts (a sentence-mode text is
    one row per sentence, aspect pairs skip texts): the row and the rest of
    the message ride along (`row_detail`) so the analyzer can name the text.
    """
    exc = TextTooLong(f"text #{row} of the request {detail}")
    exc.__dict__["row_detail"] = (row, detail)
    return exc


def row_detail(exc: BaseException) -> tuple[int, str] | None:
    """(row, the message after the row's name) of a `too_long` error; None for others."""
    found = exc.__dict__.get("row_detail")
    return found if isinstance(found, tuple) else None


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


class TaskModel:
    """Shared tokenize and forward; subclasses say what a row of output means."""

    task = ""
    #: One input of this task, for the forward pass that proves a loaded model works.
    warm_up_input: Any = "textlens warm-up"

    def __init__(self, name: str, loaded: LoadedModel) -> None:
        self.name = name
        self.loaded = loaded
        self.labels = [loaded.id2label[i] for i in sorted(loaded.id2label)]

    def encode(self, texts: Sequence[str], truncation: str) -> list[EncodedText]:
        texts = self._capped(texts, truncation)
        batch = self.loaded.tokenizer(
            list(texts),
            add_special_tokens=True,
            truncation=truncation == "truncate",
            max_length=self.loaded.max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return self._encoded(texts, batch)

    def fits(self, texts: Sequence[str]) -> list[bool]:
        """Whether each text fits the model's window whole (its tokens <= `max_length`)."""
        limit = self.loaded.max_length
        cap = limit * CHARS_PER_TOKEN_CAP  # longer than this, no tokenizer fits it
        short = [i for i, t in enumerate(texts) if len(t) <= cap]
        out = [False] * len(texts)
        if short:
            batch = self.loaded.tokenizer(
                [texts[i] for i in short],
                add_special_tokens=True,
                truncation=False,
                return_attention_mask=False,
                return_token_type_ids=False,
                verbose=False,
            )
            for i, ids in zip(short, batch["input_ids"], strict=True):
                out[i] = len(ids) <= limit
        return out

    def _capped(self, texts: Sequence[str], truncation: str) -> list[str]:
        """Under `truncate`, cut each text to what `max_length` tokens can hold at most."""
        if truncation != "truncate":
            return list(texts)
        cap = self.loaded.max_length * CHARS_PER_TOKEN_CAP
        return [t if len(t) <= cap else t[:cap] for t in texts]

    def _encoded(self, texts: Sequence[str], batch: Any) -> list[EncodedText]:
        """`EncodedText`s of a tokenizer batch; a text over `max_length` raises TextTooLong."""
        limit = self.loaded.max_length
        out: list[EncodedText] = []
        for i, enc in enumerate(batch.encodings):
            if len(enc.ids) > limit:
                raise too_long(
                    i,
                    f"has {len(enc.ids)} tokens; model {self.name} accepts at most {limit}. "
                    "Shorten it or use truncation=truncate",
                )
            offsets = [tuple(o) for o in enc.offsets]
            casing = casing_ids_for(texts[i], offsets) if self.loaded.casing else None
            out.append(EncodedText(list(enc.ids), offsets, list(enc.word_ids), casing))
        return out

    def forward(self, items: Sequence[EncodedText], engine: Engine | None = None) -> list[Any]:
        """One padded batch through `engine` (default: the model's own)."""
        raw = (engine or self.loaded.run)(*self.pad(items))
        return self.rows(raw, items)

    def pad(self, items: Sequence[EncodedText]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(input_ids, attention_mask, casing_ids or None) of one batch, padded to its longest."""
        longest = max(it.length for it in items)
        ids = np.zeros((len(items), longest), dtype=np.int64)
        mask = np.zeros((len(items), longest), dtype=np.int64)
        casing = np.zeros((len(items), longest), dtype=np.int64) if self.loaded.casing else None
        for r, it in enumerate(items):
            ids[r, : it.length] = it.ids
            mask[r, : it.length] = 1
            if casing is not None and it.casing is not None:
                casing[r, : it.length] = it.casing
        return ids, mask, casing

    def rows(self, raw: np.ndarray, items: Sequence[EncodedText]) -> list[Any]:
        return list(_softmax(raw))

    def finish(self, job: Job, encoded: list[EncodedText], outputs: list[Any]) -> Any:
        raise NotImplementedError


class SentimentModel(TaskModel):
    task = "sentiment"

    def __init__(self, name: str, loaded: LoadedModel) -> None:
        super().__init__(name, loaded)
        lower = [label.lower() for label in self.labels]
        self.positive = lower.index("positive") if "positive" in lower else None
        self.negative = lower.index("negative") if "negative" in lower else None

    def finish(
        self, job: Job, encoded: list[EncodedText], outputs: list[Any]
    ) -> list[SentimentResult]:
        results = []
        for probs in outputs:
            top = int(np.argmax(probs))
            if self.positive is not None and self.negative is not None:
                score = float(probs[self.positive] - probs[self.negative])
            else:
                score = float(probs[top])
            results.append(
                SentimentResult(
                    label=self.labels[top],
                    score=score,
                    probabilities={
                        lab: float(p) for lab, p in zip(self.labels, probs, strict=True)
                    },
                )
            )
        return results


class AspectModel(SentimentModel):
    """Sentiment toward a target: a sequence-pair classifier over (scoped text, target).

    Inputs are (text, target) pairs whose target the text mentions (the
    Analyzer drops the others); `aspects.pair_input` cuts the text down to the
    clauses about the target, as in training.
    """

    task = "aspect"
    warm_up_input = ("textlens warm-up", "textlens")

    def encode(self, texts: Sequence[Any], truncation: str) -> list[EncodedText]:
        pairs = [pair_input(text, target) for text, target in texts]
        firsts = self._capped([a for a, _ in pairs], truncation)
        batch = self.loaded.tokenizer(
            firsts,
            [b for _, b in pairs],
            add_special_tokens=True,
            truncation="only_first" if truncation == "truncate" else False,
            max_length=self.loaded.max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return self._encoded(firsts, batch)


class ClassifierModel(TaskModel):
    """A fine-tuned sequence classifier answering Classify with its own labels."""

    task = "classify"

    def encode(self, texts: Sequence[str], truncation: str) -> list[EncodedText]:
        # A topic model reads texts as its fit did (its masks); the task heads as they are.
        return super().encode(self.loaded.network.prepare_texts(texts), truncation)

    def finish(
        self, job: Job, encoded: list[EncodedText], outputs: list[Any]
    ) -> list[ClassifyResult]:
        return [
            ClassifyResult(
                label=self.labels[int(np.argmax(p))],
                scores={lab: float(x) for lab, x in zip(self.labels, p, strict=True)},
            )
            for p in outputs
        ]


class NerModel(TaskModel):
    """Token classification decoded into whole-word entity spans.

    Each pre-tokenizer word takes the label of its first piece; BIO tags are
    then merged over words, so sub-word pieces never split an entity.
    """

    task = "ner"

    def rows(self, raw: np.ndarray, items: Sequence[EncodedText]) -> list[Any]:
        probs = _softmax(raw)
        return [probs[r, : it.length] for r, it in enumerate(items)]

    def finish(
        self, job: Job, encoded: list[EncodedText], outputs: list[Any]
    ) -> list[list[Entity]]:
        return [
            self.spans(text, enc, probs)
            for text, enc, probs in zip(job.inputs, encoded, outputs, strict=True)
        ]

    def spans(self, text: str, enc: EncodedText, probs: np.ndarray) -> list[Entity]:
        words: list[tuple[int, int, int]] = []  # (first token, start, end)
        last_word: int | None = None
        for t, w in enumerate(enc.word_ids):
            if w is None:
                continue
            start, end = enc.offsets[t]
            if w != last_word:
                words.append((t, start, end))
                last_word = w
            else:
                first, s, _ = words[-1]
                words[-1] = (first, s, max(end, words[-1][2]))
        entities: list[Entity] = []
        current: tuple[str, int, int, list[float]] | None = None

        def close() -> None:
            if current is not None:
                kind, s, e, scores = current
                entities.append(Entity(text[s:e], kind, s, e, float(np.mean(scores))))

        for first, start, end in words:
            k = int(np.argmax(probs[first]))
            tag = self.labels[k]
            p = float(probs[first, k])
            if tag == "O" or not tag:
                close()
                current = None
                continue
            prefix, _, kind = tag.partition("-") if "-" in tag else ("I", "", tag)
            if prefix == "B" or current is None or current[0] != kind:
                close()
                current = (kind, start, end, [p])
            else:
                current = (kind, current[1], end, [*current[3], p])
        close()
        return entities


class EmbedModel(TaskModel):
    """Mean-pooled sentence embeddings; also serves zero-shot classification."""

    task = "embed"

    @property
    def dim(self) -> int:
        config: Any = self.loaded.network.hf.config
        return int(config.hidden_size)

    def rows(self, raw: np.ndarray, items: Sequence[EncodedText]) -> list[Any]:
        return list(raw)

    def finish(self, job: Job, encoded: list[EncodedText], outputs: list[Any]) -> Any:
        vectors = np.stack(outputs).astype(np.float32, copy=False)
        labels: list[str] | None = job.options.get("labels")
        if labels is None:
            if job.options.get("normalize", True):
                vectors = _normalize(vectors)
            return vectors
        n = len(job.inputs) - len(labels)
        texts, hyps = _normalize(vectors[:n]), _normalize(vectors[n:])
        scores = _softmax((texts @ hyps.T) / ZERO_SHOT_TEMPERATURE)
        return [
            ClassifyResult(
                label=labels[int(np.argmax(row))],
                scores={lab: float(s) for lab, s in zip(labels, row, strict=True)},
            )
            for row in scores
        ]


def _normalize(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    out: np.ndarray = v / np.maximum(norms, 1e-12)
    return out


TASK_MODELS: dict[str, type[TaskModel]] = {
    "sentiment": SentimentModel,
    "aspect": AspectModel,
    "classify": ClassifierModel,
    "ner": NerModel,
    "embed": EmbedModel,
}
