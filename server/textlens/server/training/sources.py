"""Labelled rows for training and evaluation: from a DuckDB query, a CSV/Parquet file or CoNLL.

Every tabular source goes through DuckDB, so a warehouse query, a CSV export
and a Parquet file are read by one code path with one set of checks. The
checks run before any model is loaded and say what is wrong with the data and
how to fix it in SQL: a missing column, NULL labels, a single class, too few
rows per class. Each load also returns a fingerprint (row count and a hash of
the rows) that the trained artifact records, so a model can be traced to the
exact data it saw.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
K = TypeVar("K", str, tuple[str, str])

#: Fewer rows than this in a class cannot be split into training and validation rows.
MIN_ROWS_PER_CLASS = 2
#: Below this many rows in all, a fine-tune learns nothing worth serving.
MIN_ROWS = 8
#: Row numbers an error message lists before "...".
SHOWN = 5


class TrainingDataError(ValueError):
    """The labelled data cannot be trained on as given; the message says how to fix it."""


@dataclass(frozen=True)
class Source:
    """Where labelled rows come from: `query` against `db` (or in-memory), or a file."""

    query: str | None = None
    db: Path | None = None
    path: Path | None = None

    def describe(self) -> str:
        if self.query is not None:
            return f"query {self.query!r}" + (f" on {self.db}" if self.db else "")
        return str(self.path)


@dataclass
class TextData:
    """(text, label) rows and the fingerprint of what was read; pair tasks: ((text, aspect), label)."""

    rows: list[tuple[Any, str]]
    fingerprint: dict[str, Any]


@dataclass
class SourcedData:
    """(text, label, source) rows and the fingerprint of what was read."""

    rows: list[tuple[Any, str, str]]
    fingerprint: dict[str, Any]


@dataclass
class TokenData:
    """(words, BIO tags) sentences and the fingerprint of what was read."""

    rows: list[tuple[list[str], list[str]]]
    fingerprint: dict[str, Any]


def _rows_listed(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:SHOWN])
    return shown + (", ..." if len(numbers) > SHOWN else "")


def fingerprint(rows: Sequence[Any], source: Source) -> dict[str, Any]:
    """Row count and sha256 of the rows in order (JSON per row), plus where they came from."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        digest.update(b"\n")
    return {"source": source.describe(), "rows": len(rows), "sha256": digest.hexdigest()}


def read_table(source: Source) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a query result or a CSV/Parquet/JSON file, through DuckDB."""
    import duckdb

    if source.query is None and source.path is None:
        raise TrainingDataError("give the labelled data: --query (with --db) or --data FILE")
    if source.db is not None and not source.db.is_file():
        raise TrainingDataError(f"DuckDB database {source.db} does not exist")
    try:
        con = duckdb.connect(str(source.db) if source.db else ":memory:", read_only=bool(source.db))
    except duckdb.Error as exc:  # e.g. another process holds the file's write lock
        raise TrainingDataError(f"could not open {source.db}: {exc}") from exc
    try:
        if source.query is not None:
            sql, params = source.query, []
        else:
            assert source.path is not None
            path = source.path
            if not path.is_file():
                raise TrainingDataError(f"data file {path} does not exist")
            suffix = path.suffix.lower()
            if suffix == ".parquet":
                sql = "SELECT * FROM read_parquet(?)"
            elif suffix in (".csv", ".tsv", ".txt"):
                sql = "SELECT * FROM read_csv(?, header = true, all_varchar = true)"
            elif suffix in (".json", ".jsonl", ".ndjson"):
                sql = "SELECT * FROM read_json_auto(?)"
            else:
                raise TrainingDataError(
                    f"{path}: unknown file type {suffix!r}; give a .csv, .parquet or .jsonl "
                    "file (or .conll for --task ner)"
                )
            params = [str(path)]
        try:
            result = con.execute(sql, params)
            columns = [d[0] for d in result.description or []]
            rows = result.fetchall()
        except duckdb.Error as exc:
            raise TrainingDataError(f"could not read {source.describe()}: {exc}") from exc
    finally:
        con.close()
    return columns, rows


def column_index(columns: list[str], name: str, source: Source, role: str, example: str) -> int:
    if name in columns:
        return columns.index(name)
    raise TrainingDataError(
        f"{source.describe()} has no {role} column {name!r} (its columns: {columns}); "
        f"name it in SQL ({example}) or pass --{role}-column"
    )


def text_rows(
    source: Source,
    text_column: str = "text",
    label_column: str = "label",
    dedupe: bool = True,
) -> TextData:
    """(text, label) rows, checked: no NULL labels or texts; labels become strings.

    With `dedupe`, empty texts and repeats of an earlier text are dropped: a
    text in both the training and the validation rows would inflate the score.
    """
    columns, raw = read_table(source)
    pairs = _text_label_pairs(columns, raw, source, text_column, label_column)
    rows = content_order(majority_labels(pairs)) if dedupe else pairs
    return TextData(rows, fingerprint(rows, source))


def _text_label_pairs(
    columns: list[str],
    raw: list[tuple[Any, ...]],
    source: Source,
    text_column: str,
    label_column: str,
) -> list[tuple[str, str]]:
    """Every row's (text, label), after refusing NULL texts and labels with their row numbers."""
    example = f"SELECT my_text AS {text_column}, my_label AS {label_column} FROM ..."
    ti = column_index(columns, text_column, source, "text", example)
    li = column_index(columns, label_column, source, "label", example)
    null_labels = [n for n, row in enumerate(raw, start=1) if row[li] is None]
    if null_labels:
        raise TrainingDataError(
            f"{len(null_labels)} of {len(raw)} rows of {source.describe()} have a NULL "
            f"{label_column!r} (rows {_rows_listed(null_labels)}); label them or filter them "
            f"out (WHERE {label_column} IS NOT NULL)"
        )
    null_texts = [n for n, row in enumerate(raw, start=1) if row[ti] is None]
    if null_texts:
        raise TrainingDataError(
            f"{len(null_texts)} rows of {source.describe()} have a NULL {text_column!r} "
            f"(rows {_rows_listed(null_texts)}); filter them out (WHERE {text_column} IS NOT NULL)"
        )
    return [(str(row[ti]), str(row[li]).strip()) for row in raw]


def sourced_text_rows(
    source: Source,
    text_column: str,
    label_column: str,
    source_column: str,
    dedupe: bool = True,
    aspect_column: str = "",
) -> SourcedData:
    """(text, label, source) rows for training on several sources at once (`mixture`).

    With `aspect_column` the input is a (text, aspect) pair (the aspect task).
    A text repeated within one source keeps its majority label (as `text_rows`);
    NULL sources are refused, since the trainer balances and selects by them.
    """
    columns, raw = read_table(source)
    example = f"SELECT t AS {text_column}, l AS {label_column}, s AS {source_column} FROM ..."
    si = column_index(columns, source_column, source, "source", example)
    nulls = [n for n, row in enumerate(raw, start=1) if row[si] is None]
    if nulls:
        raise TrainingDataError(
            f"{len(nulls)} of {len(raw)} rows of {source.describe()} have a NULL "
            f"{source_column!r} (rows {_rows_listed(nulls)}); name every row's source "
            f"(coalesce({source_column}, 'other'))"
        )
    labelled = _text_label_pairs(columns, raw, source, text_column, label_column)
    inputs: list[Any] = [t for t, _ in labelled]
    if aspect_column:
        ai = column_index(columns, aspect_column, source, "aspect", example)
        if any(row[ai] is None for row in raw):
            raise TrainingDataError(f"{source.describe()} has NULL {aspect_column!r} values")
        inputs = [(t, str(row[ai])) for t, row in zip(inputs, raw, strict=True)]
    keyed = [
        ((x, str(row[si])), lab)
        for x, (_, lab), row in zip(inputs, labelled, raw, strict=True)
        if not dedupe or (x[0] if aspect_column else x).strip()
    ]
    if dedupe:
        keyed = content_order(majority_labels(keyed))
    rows = [(x, lab, s) for (x, s), lab in keyed]
    return SourcedData(rows, fingerprint(rows, source))


def pair_rows(
    source: Source,
    text_column: str = "text",
    aspect_column: str = "aspect",
    label_column: str = "label",
    dedupe: bool = True,
) -> TextData:
    """((text, aspect), label) rows for target-level sentiment, checked like `text_rows`.

    The trainer reads each pair through `aspects.pair_input` (the clause
    scope), as the served model does.
    """
    columns, raw = read_table(source)
    example = (
        f"SELECT body AS {text_column}, company AS {aspect_column}, "
        f"stance AS {label_column} FROM ..."
    )
    ti = column_index(columns, text_column, source, "text", example)
    ai = column_index(columns, aspect_column, source, "aspect", example)
    li = column_index(columns, label_column, source, "label", example)
    for index, role in ((li, label_column), (ti, text_column), (ai, aspect_column)):
        nulls = [n for n, row in enumerate(raw, start=1) if row[index] is None]
        if nulls:
            raise TrainingDataError(
                f"{len(nulls)} of {len(raw)} rows of {source.describe()} have a NULL {role!r} "
                f"(rows {_rows_listed(nulls)}); filter them out (WHERE {role} IS NOT NULL)"
            )
    pairs: list[tuple[Any, str]] = []
    for row in raw:
        text, aspect = str(row[ti]), str(row[ai])
        if text.strip() and aspect.strip():
            pairs.append(((text, aspect), str(row[li]).strip()))
    if dedupe:
        pairs = content_order(majority_labels(pairs))
    return TextData(pairs, fingerprint(pairs, source))


def majority_labels(pairs: Sequence[tuple[K, str]]) -> list[tuple[K, str]]:
    """Each non-empty text once, with its most frequent label (ties: the smallest label).

    Why not "the first one": which row of a repeated text comes first is the
    query's row order, and a trained model must not depend on it.
    """
    votes: dict[K, Counter[str]] = {}
    for text, label in pairs:
        if not isinstance(text, str) or text.strip():
            votes.setdefault(text, Counter())[label] += 1
    return [
        (text, min(counts, key=lambda lab: (-counts[lab], lab))) for text, counts in votes.items()
    ]


def content_order(rows: Sequence[T]) -> list[T]:
    """`rows` sorted by a hash of their content: the same rows in any order give one order.

    Splits and shuffles are seeded, so once the rows are in content order the
    seed alone decides them (`SELECT DISTINCT` or a re-sorted export changes
    nothing). Equal rows keep their relative order; they are interchangeable.
    """

    def key(row: T) -> str:
        data = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(data.encode("utf-8")).hexdigest()

    return sorted(rows, key=key)


def check_classes(rows: Sequence[tuple[str, str]], what: str) -> Counter[str]:
    """Refuse data a classifier cannot learn from; return the count of each label."""
    counts = Counter(label for _, label in rows)
    if len(rows) < MIN_ROWS:
        raise TrainingDataError(
            f"{what} has {len(rows)} usable rows; training needs at least {MIN_ROWS} "
            "(and a few hundred to be useful)"
        )
    if len(counts) < 2:
        only = next(iter(counts), "")
        raise TrainingDataError(
            f"every row of {what} has the label {only!r}; a classifier needs at least two "
            "classes (check the query's WHERE clause)"
        )
    small = sorted(label for label, n in counts.items() if n < MIN_ROWS_PER_CLASS)
    if small:
        raise TrainingDataError(
            f"labels {small} of {what} have fewer than {MIN_ROWS_PER_CLASS} rows each; label "
            "more rows of them or map them to another label"
        )
    return counts


def check_valid_labels(train_labels: set[str], valid: Sequence[tuple[Any, str]], what: str) -> None:
    """Refuse validation/test labels the model never saw in training."""
    unseen = sorted({label for _, label in valid} - train_labels)
    if unseen:
        raise TrainingDataError(
            f"labels {unseen} occur in {what} but not in the training rows; the model "
            f"cannot predict them (training labels: {sorted(train_labels)})"
        )
