"""NER training rows: CoNLL files, (tokens, tags) tables or (text, character spans) tables.

Why apart from `sources`: token rows have their own shapes and checks (BIO
tags, spans that must start on a word); they share the table reader, the
column lookup and the fingerprint with the text rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from textlens.server.training.data import read_conll
from textlens.server.training.sources import (
    MIN_ROWS,
    SHOWN,
    Source,
    TokenData,
    TrainingDataError,
    column_index,
    fingerprint,
    read_table,
)

WORD = re.compile(r"\w+(?:[-'.]\w+)*|[^\w\s]", re.UNICODE)


def words_and_tags(text: str, spans: Sequence[tuple[int, int, str]]) -> tuple[list[str], list[str]]:
    """Split `text` into words and tag them BIO from character spans (start, end, label).

    A word belongs to a span when it starts inside it; spans that cover no
    word (e.g. a span in the middle of a word) raise, since they would be
    silently lost otherwise.
    """
    words: list[str] = []
    tags: list[str] = []
    bounds = [(m.start(), m.end(), m.group()) for m in WORD.finditer(text)]
    hit = [False] * len(spans)
    for start, _end, word in bounds:
        tag = "O"
        for k, (s, e, label) in enumerate(spans):
            if s <= start < e:
                tag = ("I-" if hit[k] else "B-") + label
                hit[k] = True
                break
        words.append(word)
        tags.append(tag)
    lost = [spans[k] for k, h in enumerate(hit) if not h]
    if lost:
        raise TrainingDataError(
            f"spans {lost} of {text[:60]!r} start inside a word or cover no word; spans must "
            "start and end at word boundaries (0-based code points, end exclusive)"
        )
    return words, tags


def _spans_of(value: Any, row: int) -> list[tuple[int, int, str]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise TrainingDataError(f"row {row}: spans are not valid JSON ({exc})") from exc
    out: list[tuple[int, int, str]] = []
    for item in value or []:
        try:
            out.append((int(item["start"]), int(item["end"]), str(item["label"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise TrainingDataError(
                f"row {row}: each span needs start, end and label, got {item!r}"
            ) from exc
    return sorted(out)


def token_rows(
    source: Source,
    text_column: str = "text",
    spans_column: str = "entities",
    tokens_column: str = "tokens",
    tags_column: str = "tags",
) -> TokenData:
    """NER sentences from CoNLL, a (tokens, tags) table, or a (text, spans) table.

    Spans are `LIST(STRUCT(start, "end", label))` or a JSON string of such objects.
    """
    if source.path is not None and source.path.suffix.lower() in (".conll", ".bio", ".iob"):
        if not source.path.is_file():
            raise TrainingDataError(f"data file {source.path} does not exist")
        sentences = read_conll(source.path)
        return TokenData(sentences, fingerprint(sentences, source))
    columns, raw = read_table(source)
    sentences = []
    if tokens_column in columns and tags_column in columns:
        ki, gi = columns.index(tokens_column), columns.index(tags_column)
        for n, row in enumerate(raw, start=1):
            tokens, tags = list(row[ki] or []), list(row[gi] or [])
            if len(tokens) != len(tags):
                raise TrainingDataError(
                    f"row {n} has {len(tokens)} tokens but {len(tags)} tags; they must pair up"
                )
            if tokens:
                sentences.append(([str(t) for t in tokens], [str(t) for t in tags]))
    else:
        example = f"SELECT body AS {text_column}, spans AS {spans_column} FROM ..."
        ti = column_index(columns, text_column, source, "text", example)
        si = column_index(columns, spans_column, source, "spans", example)
        for n, row in enumerate(raw, start=1):
            if row[ti] is None:
                raise TrainingDataError(f"row {n} has a NULL {text_column!r}; filter it out")
            words, tags = words_and_tags(str(row[ti]), _spans_of(row[si], n))
            if words:
                sentences.append((words, tags))
    bad = sorted(
        {t for _, tags in sentences for t in tags if t != "O" and t[:2] not in ("B-", "I-")}
    )
    if bad:
        raise TrainingDataError(f"tags {bad[:SHOWN]} are not BIO tags (O, B-TYPE, I-TYPE)")
    if len(sentences) < MIN_ROWS:
        raise TrainingDataError(
            f"{source.describe()} has {len(sentences)} sentences; training needs at least {MIN_ROWS}"
        )
    if not any(t != "O" for _, tags in sentences for t in tags):
        raise TrainingDataError(f"{source.describe()} has no entity at all; nothing to learn")
    return TokenData(sentences, fingerprint(sentences, source))
