"""The packaged probe set: a fixed, varied corpus every candidate engine is checked on.

Generated from templates with a fixed seed (so it is the same on every
machine and needs no data file): product reviews, financial news, support
tickets and news wire with named entities, lukewarm and mixed opinions (the
cases a lower precision flips first), short and long texts (up to ~200
tokens), plus (text, target) pairs for the aspect task. None of it comes from
a training or validation set.
"""

from __future__ import annotations

import random
from functools import cache

#: Bump when the texts change: cached `auto` choices were gated on the old ones.
PROBE_VERSION = 1
PROBE_TEXTS = 256

_COMPANIES = ["Apple", "Siemens", "Tesla", "Nokia", "Unilever", "Barclays", "Toyota", "Pfizer"]
_PEOPLE = ["Angela Merkel", "Tim Cook", "Satya Nadella", "Christine Lagarde", "Elon Musk"]
_PLACES = ["Berlin", "Tokyo", "New York", "Lagos", "São Paulo", "Mumbai", "Paris"]
_PRODUCTS = ["headphones", "kettle", "router", "office chair", "desk lamp", "blender", "tablet"]
_PARTS = ["battery", "screen", "price", "delivery", "support", "sound", "design", "app"]

_REVIEW = [
    "The {part} is excellent and I use these {product} every day.",
    "Honestly the {part} is terrible, the {product} went back after a week.",
    "The {product} is fine. The {part} could be better, but it does the job.",
    "Not bad for the price, though the {part} feels a bit cheap.",
    "I expected more from the {part}; otherwise the {product} is okay.",
    "Great {product}, awful {part}.",
    "It arrived on Tuesday. The {part} works as described.",
    "Five stars. The {part} alone is worth it.",
    "Meh. The {product} does what it says, nothing more, and the {part} is average.",
    "Worst {product} I have owned: the {part} failed twice and nobody answered my emails.",
]
_FINANCE = [
    "{company} shares rose {pct}% after quarterly revenue beat analyst estimates.",
    "{company} cut its full-year guidance, sending the stock down {pct}%.",
    "{company} will report second-quarter results on {day}.",
    "{company} said operating profit was flat at EUR {num} million.",
    "Analysts at Barclays downgraded {company} to neutral, citing weaker demand in {place}.",
    "{company} announced a buyback of {num} million shares.",
    "Net sales of {company} decreased to EUR {num} million from EUR {num2} million.",
    "{company} agreed to acquire a rival in {place} for ${num} million in cash.",
    "The board of {company} proposed an unchanged dividend of {small} per share.",
    "{company} warned of supply problems in {place}; its shares slipped {pct}%.",
]
_TICKETS = [
    "Hi, my {product} stopped charging yesterday. Can you send a replacement?",
    "The {part} on my account page shows an error since the update. Please help.",
    "Thanks for the quick fix, everything works again!",
    "I was charged twice for order {num}. This is the second time this month.",
    "How do I change the delivery address for order {num}?",
]
_NEWS = [
    "{person} met officials in {place} on {day} to discuss trade.",
    "{person} said {company} would open a new plant near {place}.",
    "Flooding in {place} closed schools and roads on {day}.",
    "{company} and {company2} signed a partnership in {place}, {person} announced.",
    "Police in {place} said the protest on {day} was peaceful.",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "March 3", "July 14"]


def _fill(rng: random.Random, template: str) -> str:
    company, company2 = rng.sample(_COMPANIES, 2)
    return template.format(
        company=company,
        company2=company2,
        person=rng.choice(_PEOPLE),
        place=rng.choice(_PLACES),
        product=rng.choice(_PRODUCTS),
        part=rng.choice(_PARTS),
        day=rng.choice(_DAYS),
        pct=rng.choice(["1.2", "3", "4.5", "7", "12"]),
        num=rng.randint(10, 990),
        num2=rng.randint(10, 990),
        small=rng.choice(["0.35", "1.10", "2.00"]),
    )


@cache
def probe_texts() -> tuple[str, ...]:
    """`PROBE_TEXTS` texts of one to six sentences; the same everywhere."""
    rng = random.Random(20261202)
    pools = [_REVIEW, _FINANCE, _TICKETS, _NEWS]
    out: list[str] = []
    while len(out) < PROBE_TEXTS:
        pool = pools[len(out) % len(pools)]
        sentences = rng.choice([1, 1, 2, 3, 4, 6])
        text = " ".join(_fill(rng, rng.choice(pool)) for _ in range(sentences))
        if len(out) % 37 == 0:
            text = text.upper()  # casing matters to the NER model
        out.append(text)
    return tuple(out)


@cache
def probe_pairs() -> tuple[tuple[str, str], ...]:
    """(text, target) pairs for the aspect task: a part or company each text mentions."""
    pairs: list[tuple[str, str]] = []
    for text in probe_texts():
        targets = [t for t in _PARTS + _COMPANIES if t.lower() in text.lower()]
        if targets:
            pairs.append((text, targets[len(pairs) % len(targets)]))
    return tuple(pairs)
