"""Readers for labelled training data and a reproducible split."""

from __future__ import annotations

import csv
import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def read_labelled_csv(
    path: Path, text_col: str = "text", label_col: str = "label"
) -> list[tuple[str, str]]:
    """Rows of (text, label) from a CSV with a header; rows with an empty label are refused."""
    rows: list[tuple[str, str]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {text_col, label_col} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path} has no column(s) {sorted(missing)}; it has {reader.fieldnames}"
            )
        for lineno, row in enumerate(reader, start=2):
            label = (row[label_col] or "").strip()
            if not label:
                raise ValueError(f"{path}:{lineno}: empty label")
            rows.append((row[text_col] or "", label))
    return rows


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    """Sentences of (tokens, BIO tags) from `token<TAB>tag` lines, blank line between sentences."""
    sentences: list[tuple[list[str], list[str]]] = []
    tokens: list[str] = []
    tags: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                if tokens:
                    sentences.append((tokens, tags))
                    tokens, tags = [], []
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) < 2:
                raise ValueError(f"{path}:{lineno}: expected 'token<TAB>tag', got {line!r}")
            tokens.append(parts[0])
            tags.append(parts[-1])
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def stratified_split(
    items: Sequence[T], labels: Sequence[str], valid_fraction: float, seed: int
) -> tuple[list[T], list[T]]:
    """Split keeping each label's share in both parts (at least one validation row per label)."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    train_idx: list[int] = []
    valid_idx: list[int] = []
    for label in sorted(by_label):
        idx = by_label[label]
        rng.shuffle(idx)
        n_valid = max(1, round(len(idx) * valid_fraction))
        valid_idx.extend(idx[:n_valid])
        train_idx.extend(idx[n_valid:])
    rng.shuffle(train_idx)
    valid_idx.sort()
    return [items[i] for i in train_idx], [items[i] for i in valid_idx]


def group_split(
    rows: Sequence[tuple[tuple[str, str], str]], valid_fraction: float, seed: int
) -> tuple[list[tuple[tuple[str, str], str]], list[tuple[tuple[str, str], str]]]:
    """Split ((text, aspect), label) rows by a seeded hash of the text: no text on both sides."""

    def held_out(text: str) -> bool:
        digest = hashlib.sha256(f"{seed}\x00{text}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < valid_fraction

    train = [r for r in rows if not held_out(r[0][0])]
    valid = [r for r in rows if held_out(r[0][0])]
    if not valid or not train:
        raise ValueError(
            f"{len(rows)} rows over too few texts to hold out {valid_fraction:.0%} of them; "
            "give more texts or --valid-query"
        )
    return train, valid
