"""Where a text talks about a target: the mention rule and the clause scope.

Target-level sentiment (`aspect_sentiment`, `entity_sentiment`) answers for a
(text, target) pair, and two plain rules decide what the model sees:

* **Mentioned**: the target occurs in the text as a whole word or phrase,
  ignoring case, optionally followed by a plural or possessive ending (`s`,
  `es`, `'s`), with any run of white space matching a space in the target. A
  target that is not mentioned gets no sentiment (NULL in SQL), because a
  guess about something the text never names would only be the sentiment of
  the whole text under another name.
* **Scope**: the text is cut into clauses at sentence ends, semicolons and
  contrast words (`but`, `while`, `whereas`, `although`, `though`, `however`,
  `yet`, `except`), and the model reads only the clauses that mention the
  target, followed by the target itself as the second segment of a sentence
  pair. "Tesla shares jump while Ford slips" then reaches the model as
  "Tesla shares jump" for Tesla and "Ford slips" for Ford. The model was
  trained with exactly this preprocessing.

  A cashtag target (``$TSLA``) also matches the hashtag (``#TSLA``) and the
  bare ticker in capitals (``TSLA``, not ``tsla``); a bare target (``TSLA``)
  matches inside ``$TSLA`` as a whole word already. Company names are not
  tickers: ask for ``Tesla`` and ``$TSLA`` as two targets when posts use both.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Longest target accepted, in characters (an aspect is a word or a short phrase).
MAX_TARGET_CHARS = 200

_CLAUSE_BREAK = re.compile(
    r"(?<=[.!?;])\s+|;\s*|\s+[-–—]\s+|,?\s+(?=(?:but|while|whereas|although|though|however|yet|"
    r"except)\b)",
    re.IGNORECASE,
)


_CASHTAG = re.compile(r"\$[A-Za-z][A-Za-z0-9.]{0,9}")


@lru_cache(maxsize=4096)
def _pattern(target: str) -> re.Pattern[str]:
    if _CASHTAG.fullmatch(target):
        # A cashtag is also written as a hashtag or the bare ticker; the bare ticker must
        # match its case, or $ON, $IT and $A would match "on", "it" and "a".
        ticker = re.escape(target[1:])
        return re.compile(rf"(?<![\w$#])(?:[$#]{ticker}|(?-i:{ticker}))(?!\w)", re.IGNORECASE)
    words = target.split()
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?:'s|’s|es|s)?(?!\w)", re.IGNORECASE)


def mentions(text: str, target: str) -> bool:
    """Whether `text` mentions `target` (see the module docstring)."""
    if not target.strip():
        return False
    return _pattern(target.strip()).search(text) is not None


def clauses(text: str) -> list[str]:
    """The clauses of `text`, in order, without empty ones."""
    return [c.strip() for c in _CLAUSE_BREAK.split(text) if c and c.strip()]


def scope(text: str, target: str) -> str:
    """The clauses of `text` that mention `target`, joined; the whole text if none does."""
    parts = clauses(text)
    if len(parts) < 2 or not target.strip():
        return text
    pattern = _pattern(target.strip())
    kept = [c for c in parts if pattern.search(c)]
    return " ".join(kept) if kept else text


def pair_input(text: str, target: str) -> tuple[str, str]:
    """What the model reads for (text, target): (scoped text, target)."""
    return scope(text, target), target.strip()
