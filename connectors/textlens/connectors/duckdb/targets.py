"""Target-level sentiment in SQL: `aspect_sentiment*` and `entity_sentiment`.

Both come down to (text, target) pairs, which the compute computes and caches
per pair (model version, text, target): the same review asked about
`['battery', 'screen']` and later about `['screen', 'price']` computes the
screen pair once. The server decides whether a text mentions a target; a
pair it does not mention comes back None and becomes a NULL in SQL, and a text
in a language the model does not read comes back `NotScored` (a NULL row).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textlens.contract.results import Entity, NotScored, SentimentResult

if TYPE_CHECKING:
    from textlens.connectors.duckdb.cached_compute import CachedCompute

#: What `aspect_sentiment` computes per text: aspect -> result (None: not mentioned).
AspectMap = dict[str, SentimentResult | NotScored | None]
#: What `entity_sentiment` computes per text: each entity span with its sentiment.
EntitySentiments = list[tuple[Entity, SentimentResult | NotScored | None]]


def aspect_maps(
    compute: CachedCompute, options: tuple[Any, ...], texts: list[str]
) -> list[AspectMap]:
    """Per text, each distinct aspect of the list (in list order) -> its result."""
    aspects, model = options
    names = list(dict.fromkeys(aspects))  # MAP keys are unique: a repeated aspect once
    pairs = [(text, name) for text in texts for name in names]
    results = compute.pair_results(model, pairs)
    width = len(names)
    return [
        dict(zip(names, results[k * width : (k + 1) * width], strict=True))
        for k in range(len(texts))
    ]


def entity_sentiments(
    compute: CachedCompute, options: tuple[Any, ...], texts: list[str]
) -> list[EntitySentiments | NotScored]:
    """Per text, the spans of `entities(text)` with the sentiment toward each span's text
    (`NotScored` where the entity model was not asked about the text)."""
    entities_model, model = options
    answers: list[list[Entity] | NotScored] = compute.results("entities", (entities_model,), texts)
    read = [
        (text, found)
        for text, found in zip(texts, answers, strict=True)
        if not isinstance(found, NotScored)
    ]
    pairs = list(dict.fromkeys((text, e.text) for text, found in read for e in found))
    by_pair = dict(zip(pairs, compute.pair_results(model, pairs), strict=True))
    return [
        found if isinstance(found, NotScored) else [(e, by_pair[(text, e.text)]) for e in found]
        for text, found in zip(texts, answers, strict=True)
    ]


#: SQL task -> how the compute computes it from pairs.
TARGET_TASKS: dict[str, Callable[[CachedCompute, tuple[Any, ...], list[str]], list[Any]]] = {
    "aspect": aspect_maps,
    "entity_sentiment": entity_sentiments,
}
