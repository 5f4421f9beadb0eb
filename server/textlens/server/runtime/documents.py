"""Document sentiment from sentence sentiment, for models trained on short texts.

The default sentiment model learned from sentences, tweets, posts and
headlines of at most 64 tokens. In a review most sentences are facts ("I
bought it for my dad last month.") that drown the opinion when the text is
read at once, and a text longer than the window would be cut after 64
tokens. So a model served with `sentences = true` reads a text of several
sentences one sentence at a time, and those probabilities are the mean of the
sentences', each weighted by how opinionated it is, 1 - P(neutral) (at least
`MIN_WEIGHT`): the opinions decide, and a document of facts alone stays
neutral.

Split, a tweet's sarcasm or a headline's "but" loses its context, so a
multi-sentence text that fits the window is *also* read whole, as the model
was trained, and the document's probabilities are the mean of the two
readings. Measured on the held-out rows of the ten training sources and on
the demo's product reviews (issue 23, `docs/market_sentiment.md`), macro-F1:

| reading | worst finance source | pyFin | reviews (negative recall) |
|---|---|---|---|
| by sentence only | 0.474 | 0.720 | 0.861 |
| whole only | 0.524 | 0.770 | 0.689 |
| both, averaged (served) | 0.521 | 0.767 | 0.830 |

Each kind of text keeps nearly the best of both; the price is one more
forward pass (of the whole text) per multi-sentence text that fits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textlens.contract.results import SentimentResult
from textlens.server.runtime.ratings import rated

#: A sentence ends at . ! ? (or a line break) before white space and an upper-case
#: letter, a digit or a quote: "U.S. stocks" and "3.5 stars" stay one sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“(])|\s*\n+\s*")
#: The weight of a sentence that is all but certainly neutral (facts still count a little).
MIN_WEIGHT = 0.05
#: More sentences than this are read as one text (a long document costs one pass).
MAX_SENTENCES = 64


def sentences(text: str) -> list[str]:
    """The sentences of `text` (the text itself when it has one, or too many)."""
    parts = [p for p in (s.strip() for s in _SENTENCE_END.split(text)) if p]
    if len(parts) < 2 or len(parts) > MAX_SENTENCES:
        return [text]
    return parts


@dataclass(frozen=True)
class Reading:
    """What the model reads of one text: `units`; `whole` when units[0] is the text itself,
    read besides its sentences (units[1:])."""

    units: list[str]
    whole: bool = False


def readings(texts: Sequence[str], fits: Callable[[Sequence[str]], list[bool]]) -> list[Reading]:
    """Each text's reading: one sentence or too many, as is; several that fit the window
    (`fits`), whole and by sentence; several that do not, by sentence."""
    parts = [sentences(text) for text in texts]
    several = [i for i, p in enumerate(parts) if len(p) > 1]
    whole: set[int] = set()
    if several:
        whole = {i for i, ok in zip(several, fits([texts[i] for i in several]), strict=True) if ok}
    return [
        Reading([texts[i], *p], whole=True) if i in whole else Reading(p)
        for i, p in enumerate(parts)
    ]


def document(reading: Reading, results: Sequence[SentimentResult]) -> SentimentResult:
    """One text's result from its units' results (see the module docstring); a unit
    that states a star rating is answered by it (`ratings`)."""
    results = [rated(unit, r) for unit, r in zip(reading.units, results, strict=True)]
    if not reading.whole:
        return combine(results)
    return _mean(results[0], combine(results[1:]))


def _mean(a: SentimentResult, b: SentimentResult) -> SentimentResult:
    probs = {k: (a.probabilities[k] + b.probabilities[k]) / 2 for k in a.probabilities}
    return _result(probs)


def combine(results: Sequence[SentimentResult]) -> SentimentResult:
    """One document's result from its sentences' (see the module docstring)."""
    if len(results) == 1:
        return results[0]
    labels = list(results[0].probabilities)
    weights = [max(MIN_WEIGHT, 1.0 - r.probabilities.get("neutral", 0.0)) for r in results]
    total = sum(weights)
    probs = {
        label: sum(w * r.probabilities[label] for w, r in zip(weights, results, strict=True))
        / total
        for label in labels
    }
    return _result(probs)


def _result(probs: dict[str, float]) -> SentimentResult:
    label = max(probs, key=lambda k: probs[k])
    if "positive" in probs and "negative" in probs:
        score = probs["positive"] - probs["negative"]
    else:
        score = probs[label]
    return SentimentResult(label=label, score=score, probabilities=probs)
