"""Document sentiment from sentence sentiment, for models trained on short texts.

The default sentiment model learned from sentences, tweets, posts and
headlines of at most 64 tokens. A longer text would be cut after its first 64
tokens, and in a long review most sentences are facts ("I bought it for my
dad last month.") that drown the opinion. So a model served with
`sentences = true` reads a text that does not fit its window one sentence at
a time, and the document's probabilities are the mean of its sentences', each
weighted by how opinionated it is, 1 - P(neutral) (at least `MIN_WEIGHT`):
the opinions decide, and a document of facts alone stays neutral.

A text that fits the window is read whole, as the model was trained: split,
a tweet's sarcasm or a headline's "but" loses its context. Measured on the
held-out rows of the ten training sources (issue 23), reading every
multi-sentence text by sentence cost the worst three-class source 5 points of
macro-F1 (SemEval 0.524 -> 0.474; pyFin 0.770 -> 0.720) and won only on long
Reddit comments, which do not fit and are still split.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from textlens.client.results import SentimentResult

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


def reading_units(
    texts: Sequence[str], fits: Callable[[Sequence[str]], list[bool]]
) -> list[list[str]]:
    """What the model reads of each text: the text itself if it `fits`, else its sentences."""
    parts = [sentences(text) for text in texts]
    several = [i for i, p in enumerate(parts) if len(p) > 1]
    if several:
        for i, whole in zip(several, fits([texts[i] for i in several]), strict=True):
            if whole:
                parts[i] = [texts[i]]
    return parts


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
    label = max(labels, key=lambda k: probs[k])
    if "positive" in probs and "negative" in probs:
        score = probs["positive"] - probs["negative"]
    else:
        score = probs[label]
    return SentimentResult(label=label, score=score, probabilities=probs)
