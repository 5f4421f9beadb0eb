"""Document sentiment from sentence sentiment, for models trained on single sentences.

The default sentiment model learned from sentences, tweets and headlines, where
a plain statement of fact is neutral. A review is several sentences, and most
of them are often facts ("I bought it for my dad last month."): read as one
text, the facts drown the opinion and the review comes out neutral. So a model
served with `sentences = true` reads each sentence on its own, and the
document's probabilities are the mean of its sentences', each weighted by how
opinionated it is, 1 - P(neutral) (at least `MIN_WEIGHT`): the opinions
decide, and a document of facts alone stays neutral. Each sentence also gets
the model's whole `max_length`, so a long review is no longer cut after its
first 64 tokens.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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
