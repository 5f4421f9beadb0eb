"""The default three-class sentiment model's data: four public sources, one SQL query.

Reviews and finance text disagree on what "neutral" is, so the default is
trained on both (see `../shared/README.md` for each file):

* `sst2`    SST-2 movie-review phrases (binary; a quarter of them, so the
            two-class reviews do not drown the neutral class),
* `sst5`    SST-5 sentences mapped to three classes (PTB brackets undone),
* `tfns`    finance tweets (bearish / neutral / bullish),
* `sentfin` SEntFiN headlines whose entities all share one label.

The validation split is a hash of the normalised text (lower case, white space
folded), not a row number: it does not depend on the files' row order, and a
text that occurs in two sources is on the same side in both, so no validation
sentence is also a training row. SEntFiN headlines are split by the same hash
in the aspect model's data, so neither default model has seen the other's
validation headlines.
"""

from __future__ import annotations

from pathlib import Path

#: md5 of the normalised text; its first two hex digits decide the split.
SPLIT_HASH = "md5(lower(regexp_replace(trim(text), '\\s+', ' ', 'g')))"
#: Validation: hashes below this (13/256 = 5.1% of every source).
VALID_BELOW = "0d"
#: SST-2 training rows: hashes in [VALID_BELOW, SST2_BELOW) (67/256 = 26% of SST-2).
SST2_BELOW = "50"
SOURCES = ("sst2", "sst5", "tfns", "sentfin")


def _csv(data: Path, name: str) -> str:
    path = str(data / name).replace("'", "''")
    return f"read_csv('{path}', header = true, all_varchar = true)"


def mixed_rows_sql(data: Path) -> str:
    """Every labelled text of the four sources: (source, text, label, h)."""
    sst5_text = (
        "replace(replace(replace(text, '-LRB-', '('), '-RRB-', ')'), '\\/', '/')"  # PTB tokens
    )
    return f"""
        SELECT source, text, label, {SPLIT_HASH} AS h FROM (
            SELECT 'sst2' AS source, text, label FROM {_csv(data, "sst2_train.csv")}
            UNION ALL
            SELECT 'sst5', {sst5_text}, label FROM {_csv(data, "sst5to3_train.csv")}
            UNION ALL
            SELECT 'tfns', text, label FROM {_csv(data, "tfns_train.csv")}
            UNION ALL
            SELECT 'sentfin', text, min(label) FROM {_csv(data, "sentfin_entity_train.csv")}
            GROUP BY text HAVING count(DISTINCT label) = 1
        ) WHERE trim(text) <> ''"""


def train_sql(data: Path) -> str:
    """The training rows (text, label, source)."""
    return (
        f"SELECT text, label, source FROM ({mixed_rows_sql(data)}) "
        f"WHERE h >= '{VALID_BELOW}' AND (source <> 'sst2' OR h < '{SST2_BELOW}')"
    )


def valid_sql(data: Path) -> str:
    """The held-out rows (text, label, source) of every source."""
    return f"SELECT text, label, source FROM ({mixed_rows_sql(data)}) WHERE h < '{VALID_BELOW}'"


def rows_by_source(sql: str) -> dict[str, list[tuple[str, str]]]:
    """(text, label) rows of a `train_sql`/`valid_sql` query, per source."""
    import duckdb

    out: dict[str, list[tuple[str, str]]] = {s: [] for s in SOURCES}
    with duckdb.connect() as con:
        for text, label, source in con.execute(sql).fetchall():
            out[source].append((text, label))
    return out


def aspect_sql(data: Path, part: str) -> str:
    """SEntFiN (text, aspect, label) rows of `part` ("train" or "valid"), split as above."""
    if part not in ("train", "valid"):
        raise ValueError(f"part must be train or valid, not {part!r}")
    side = f"h < '{VALID_BELOW}'" if part == "valid" else f"h >= '{VALID_BELOW}'"
    return (
        f"SELECT text, entity AS aspect, label FROM (SELECT *, {SPLIT_HASH} AS h "
        f"FROM {_csv(data, 'sentfin_entity_train.csv')}) WHERE {side}"
    )
