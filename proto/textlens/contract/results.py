"""Plain result types shared by the runtime (embedded mode) and the gRPC client.

Both modes hand back exactly these objects, so code written against one mode
works unchanged against the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Truncation = Literal["truncate", "error"]
TRUNCATIONS: tuple[str, ...] = ("truncate", "error")


@dataclass(frozen=True)
class SentimentResult:
    """`score` is P(positive) - P(negative) for polarity models, else the top probability."""

    label: str
    score: float
    probabilities: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Entity:
    """A span of the input: `text == input[start:end]` (Python str indices)."""

    text: str
    label: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class ClassifyResult:
    """The top label and the score of every candidate label."""

    label: str
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LanguageResult:
    """The language a text is written in, as fastText's lid.176 model names it.

    `language` is an ISO 639 code ("en", "de", "zh"; two letters where one exists),
    or "und" when the text has too few letters to tell (e.g. only `$TSLA 123`).
    `reliable` is True when `confidence` (the model's probability of that
    language) reaches the server's threshold; an "und" answer is never reliable.
    """

    language: str
    confidence: float
    reliable: bool


#: `NotScored.reason` of a text in a language the model does not read.
NOT_SCORED_LANGUAGE = "language"
#: `NotScored.reason` of an empty or whitespace-only text asked for its sentiment.
NOT_SCORED_EMPTY = "empty"


@dataclass(frozen=True)
class NotScored:
    """The model was not asked about this text, and why (it answers NULL in SQL).

    `reason` is "language": the text is, with `confidence` (the detector's
    probability, at least its reliable threshold), in `language` (ISO 639), which
    is not one of the languages the model reads (`ModelInfo.languages`). Or
    "empty": a sentiment asked of an empty or whitespace-only text (`language`
    "", `confidence` 0): no text, no opinion. Takes the
    place of a `SentimentResult` (sentiment, aspect sentiment) or of a list of
    entities; never has a label or a score, so it cannot be averaged by mistake.
    """

    reason: str
    language: str
    confidence: float


@dataclass(frozen=True)
class ModelInfo:
    """What `ListModels` says about one served model."""

    name: str
    task: str
    labels: list[str]
    version: str
    device: str
    dtype: str
    max_length: int
    source: str
    is_default: bool
    dim: int = 0
    #: `torch` or `onnx`: what runs the forward pass (with `dtype` and `device`).
    backend: str = ""
    #: Why that backend and dtype (configured, or what `auto` measured on the server's CPU).
    backend_reason: str = ""
    #: The languages the model reads (ISO 639 codes); empty: any language (never refused).
    languages: list[str] = field(default_factory=list)
    #: What sentiment, aspect and entities answer for a text confidently in another
    #: language: "null" (`NotScored`) or "score" (the model is asked anyway).
    other_languages: str = ""


@dataclass(frozen=True)
class ModelReload:
    """What `ReloadModels` did to one registered model."""

    name: str
    previous_version: str
    version: str
    source: str

    @property
    def changed(self) -> bool:
        return self.previous_version != self.version
