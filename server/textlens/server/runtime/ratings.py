"""A star rating a text states is its author's own verdict: it decides that reading.

Why: the default sentiment model read "One star is generous." as +0.95 positive,
and "Two stars." as +0.62. It learned from sentences, tweets, posts and
headlines, where "generous" is praise and star ratings almost never occur: 31
rows of 67,349 SST-2 and 8,544 SST-5 rows, one of about 60,000 finance rows. A
one-star review whose last sentence is "One star is generous." then came out
positive in the demo's first minute. Every one of those 32 rows is labelled the
way the rating reads (one or two stars negative, four or five positive). The
single exception states two ratings, "a four star performance ... a two star
script", and is labelled positive, so a text that states more than one rating
is left to the model.

The rule reads "N star(s)", "N-star", with N from zero to five in digits or
words. Fractions such as "4/5" or "4 out of 5" are not read: in finance posts
they are splits, watch-lists and thread numbers. It applies to a
reading (a sentence, or the whole text) of a polarity model (labels positive
and negative, neutral optional): 0-2 stars negative, 3 neutral (or no
answer without a neutral label), 4-5 positive. A stated rating replaces that
reading's probabilities, so the document's mean weighs it like any certain
sentence.
"""

from __future__ import annotations

import re

from textlens.contract.results import SentimentResult

_NUMBERS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_STARS = re.compile(r"\b(zero|one|two|three|four|five|[0-5])[- ]stars?\b", re.IGNORECASE)


def stated_rating(text: str) -> int | None:
    """The one star rating `text` states (0-5), or None (none, or several that differ)."""
    ratings = {_value(m.group(1)) for m in _STARS.finditer(text)}
    return ratings.pop() if len(ratings) == 1 else None


def _value(number: str) -> int:
    return _NUMBERS[number.lower()] if number.lower() in _NUMBERS else int(number)


def rated(text: str, result: SentimentResult) -> SentimentResult:
    """`result`, or the answer of the rating `text` states (see the module docstring)."""
    probs = result.probabilities
    if "positive" not in probs or "negative" not in probs:
        return result  # not a polarity model: a rating says nothing of its labels
    rating = stated_rating(text)
    if rating is None:
        return result
    label = "negative" if rating <= 2 else "positive" if rating >= 4 else "neutral"
    if label not in probs:
        return result  # three stars, and the model has no neutral label
    certain = {name: 1.0 if name == label else 0.0 for name in probs}
    score = certain["positive"] - certain["negative"]
    return SentimentResult(label=label, score=score, probabilities=certain)
