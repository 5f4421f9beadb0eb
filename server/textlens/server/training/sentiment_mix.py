"""The default sentiment models' data: every public source in `../shared/data`, one SQL query.

Reviews and finance text disagree on what "neutral" is, and a model trained
on one finance source says "neutral" too readily on the next one (issue 23),
so the default is trained on all of them (see `../shared/README.md` for each
file and its licence):

========================  ==========  ========================================
source                    labels      what
========================  ==========  ========================================
``sst2``                  polar       SST-2 movie-review phrases (a quarter)
``sst5``                  three       SST-5 sentences mapped to three classes
``tfns``                  three       finance tweets (bearish/neutral/bullish)
``sentfin``               three       SEntFiN headlines whose entities agree
``pyfin``                 three       pyFin cashtag tweets, hand-labelled
``gold``                  three       gold-market news headlines
``semeval``               three       SemEval-2017 financial microblogs
``stockemotions``         self        StockTwits posts, the poster's own tag
``surge_stock``           polar       Surge AI stock tweets
``surge_crypto``          polar       Surge AI crypto Reddit comments
========================  ==========  ========================================

"three": human labels with a neutral class. "polar": human labels, positive
and negative only. "self": the author's bullish/bearish tag (noisy, no
neutral). How the trainer uses polar and self rows is the recipe's choice
(`training.mixture`).

The validation split is a hash of the normalised text (lower case, white space
folded), not a row number: it does not depend on the files' row order, and a
text that occurs in two sources is on the same side in both, so no validation
sentence is also a training row. Small sources hold out a fifth instead of a
twentieth, so their validation scores are not a handful of rows. SEntFiN
headlines are split by the same hash in the aspect model's data, so neither
default model has seen the other's validation headlines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: md5 of the normalised text; its first two hex digits decide the split.
SPLIT_HASH = "md5(lower(regexp_replace(trim(text), '\\s+', ' ', 'g')))"
#: Validation: hashes below this (13/256 = 5.1% of every large source).
VALID_BELOW = "0d"
#: Validation of sources under ~2,000 rows: 51/256 = 20%.
SMALL_VALID_BELOW = "33"
#: SST-2 training rows: hashes in [VALID_BELOW, SST2_BELOW) (67/256 = 26% of SST-2).
SST2_BELOW = "50"

#: StockTwits/Twitter API text keeps HTML entities; users' text does not.
_UNESCAPE = (
    "replace(replace(replace(replace(replace(text, '&amp;', '&'), '&lt;', '<'), "
    "'&gt;', '>'), '&quot;', '\"'), '&#39;', '''')"
)
_PTB = "replace(replace(replace(text, '-LRB-', '('), '-RRB-', ')'), '\\/', '/')"


@dataclass(frozen=True)
class MixSource:
    """One labelled file of the mix and how to read it."""

    name: str
    file: str
    #: "three" (human, with neutral), "polar" (human, no neutral), "self" (poster's tag).
    labels: str
    kind: str
    licence: str
    text_sql: str = "text"
    valid_below: str = VALID_BELOW


SOURCES_TABLE = (
    MixSource("sst2", "sst2_train.csv", "polar", "reviews", "none stated (research)"),
    MixSource("sst5", "sst5to3_train.csv", "three", "reviews", "none stated (research)", _PTB),
    MixSource("tfns", "tfns_train.csv", "three", "tweets", "MIT"),
    MixSource("sentfin", "sentfin_entity_train.csv", "three", "headlines", "none found (research)"),
    MixSource(
        "pyfin", "pyfin_sentiment_tweets_train.csv", "three", "tweets", "none stated", _UNESCAPE
    ),
    MixSource("gold", "gold_commodity_news_train.csv", "three", "headlines", "CC BY-NC-ND 4.0"),
    MixSource(
        "semeval",
        "semeval2017_t5_microblogs_train.csv",
        "three",
        "posts",
        "CC BY-NC-SA 4.0",
        _UNESCAPE,
        SMALL_VALID_BELOW,
    ),
    MixSource(
        "stockemotions",
        "stockemotions_stocktwits_train.csv",
        "self",
        "posts",
        "none stated",
        _UNESCAPE,
    ),
    MixSource(
        "surge_stock",
        "surgeai_stock_tweets_train.csv",
        "polar",
        "tweets",
        "MIT",
        _UNESCAPE,
        SMALL_VALID_BELOW,
    ),
    MixSource(
        "surge_crypto",
        "surgeai_crypto_reddit_train.csv",
        "polar",
        "posts",
        "MIT",
        _UNESCAPE,
        SMALL_VALID_BELOW,
    ),
)
BY_NAME = {s.name: s for s in SOURCES_TABLE}
SOURCES = tuple(BY_NAME)
#: The mix of the first three-class default (issue 19), kept to compare against.
FIRST_SOURCES = ("sst2", "sst5", "tfns", "sentfin")


def _csv(data: Path, name: str) -> str:
    path = str(data / name).replace("'", "''")
    return f"read_csv('{path}', header = true, all_varchar = true)"


def _select(data: Path, source: MixSource) -> str:
    if source.name == "sentfin":  # one row per headline, kept only when its entities agree
        return (
            f"SELECT 'sentfin' AS source, text, min(label) AS label, '{source.valid_below}' AS vb "
            f"FROM {_csv(data, source.file)} GROUP BY text HAVING count(DISTINCT label) = 1"
        )
    return (
        f"SELECT '{source.name}' AS source, {source.text_sql} AS text, label, "
        f"'{source.valid_below}' AS vb FROM {_csv(data, source.file)}"
    )


def _names(sources: Iterable[str] | None) -> list[str]:
    names = list(SOURCES if sources is None else sources)
    unknown = sorted(set(names) - set(BY_NAME))
    if unknown:
        raise ValueError(f"unknown sources {unknown}; the mix has {list(SOURCES)}")
    return names


def mixed_rows_sql(data: Path, sources: Iterable[str] | None = None) -> str:
    """Every labelled text of `sources` (default: all): (source, text, label, h, vb)."""
    parts = "\nUNION ALL\n".join(_select(data, BY_NAME[n]) for n in _names(sources))
    return f"""
        SELECT source, text, label, {SPLIT_HASH} AS h, vb FROM (
            {parts}
        ) WHERE trim(text) <> ''"""


def train_sql(data: Path, sources: Iterable[str] | None = None) -> str:
    """The training rows (text, label, source)."""
    return (
        f"SELECT text, label, source FROM ({mixed_rows_sql(data, sources)}) "
        f"WHERE h >= vb AND (source <> 'sst2' OR h < '{SST2_BELOW}')"
    )


def valid_sql(data: Path, sources: Iterable[str] | None = None) -> str:
    """The held-out rows (text, label, source) of every source."""
    return f"SELECT text, label, source FROM ({mixed_rows_sql(data, sources)}) WHERE h < vb"


def rows_by_source(sql: str) -> dict[str, list[tuple[str, str]]]:
    """(text, label) rows of a `train_sql`/`valid_sql` query, per source (in content order)."""
    import duckdb

    out: dict[str, list[tuple[str, str]]] = {}
    with duckdb.connect() as con:
        for text, label, source in con.execute(f"{sql} ORDER BY source, md5(text)").fetchall():
            out.setdefault(source, []).append((text, label))
    return {s: out[s] for s in SOURCES if s in out}


#: Target-level rows: (source of the same texts in the text mix, file, label kind).
ASPECT_SOURCES = (
    ("sentfin", "sentfin_entity_train.csv", "three"),
    ("semeval", "semeval2017_t5_microblogs_entity_train.csv", "three"),
    ("stockemotions", "stockemotions_stocktwits_entity_train.csv", "self"),
    ("surge_stock", "surgeai_stock_tweets_entity_train.csv", "polar"),
)


def aspect_mix_sql(data: Path, part: str) -> str:
    """(text, aspect, label, source) rows of every target-level source, split as the text mix.

    A post's texts are the same in both files of a dataset, and the split hashes
    the text with the same threshold, so neither default model has seen the
    other's validation posts.
    """
    if part not in ("train", "valid"):
        raise ValueError(f"part must be train or valid, not {part!r}")
    side = "h < vb" if part == "valid" else "h >= vb"
    parts = []
    for name, file, _ in ASPECT_SOURCES:
        text = BY_NAME[name].text_sql
        parts.append(
            f"SELECT '{name}' AS source, {text} AS text, entity AS aspect, label, "
            f"'{BY_NAME[name].valid_below}' AS vb FROM {_csv(data, file)}"
        )
    union = "\nUNION ALL\n".join(parts)
    return (
        f"SELECT text, aspect, label, source FROM (SELECT *, {SPLIT_HASH} AS h FROM ({union}) "
        f"WHERE trim(text) <> '') WHERE {side}"
    )


def aspect_sql(data: Path, part: str) -> str:
    """SEntFiN (text, aspect, label) rows of `part` ("train" or "valid"), split as above."""
    if part not in ("train", "valid"):
        raise ValueError(f"part must be train or valid, not {part!r}")
    side = f"h < '{VALID_BELOW}'" if part == "valid" else f"h >= '{VALID_BELOW}'"
    return (
        f"SELECT text, entity AS aspect, label FROM (SELECT *, {SPLIT_HASH} AS h "
        f"FROM {_csv(data, 'sentfin_entity_train.csv')}) WHERE {side}"
    )
