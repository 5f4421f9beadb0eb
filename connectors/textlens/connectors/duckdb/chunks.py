"""One DuckDB chunk -> the distinct work it holds, without a Python loop over rows.

DuckDB hands an arrow UDF up to 2048 rows per call. Arrow's C++ kernels
dictionary-encode each argument column; numpy combines the codes into one
integer per row and `np.unique` finds the distinct (text, options) items. Only
the distinct items ever become Python objects, and the answer for the whole
chunk is one `take` of the distinct answers by each row's slot, with NULL
slots for rows that had a NULL argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Joins a VARCHAR[] argument into one string per row so lists dictionary-encode.
LIST_SEPARATOR = "\x1f"

#: What DuckDB hands an arrow UDF per argument.
Column: TypeAlias = "pa.Array | pa.ChunkedArray"


@dataclass(frozen=True)
class Group:
    """Distinct texts that share the same option values (model, labels, ...)."""

    options: tuple[Any, ...]
    texts: list[str]


@dataclass(frozen=True)
class ChunkPlan:
    """Rows of a chunk as slots into distinct items, the items grouped by options.

    Items are numbered in group order: group 0's texts are items 0..n0-1, and so on.
    """

    size: int
    nulls: int
    slots: pa.Array
    groups: list[Group]

    @property
    def items(self) -> int:
        return sum(len(g.texts) for g in self.groups)


def _as_array(column: Column) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _encode(column: Column) -> tuple[np.ndarray, list[Any]]:
    """Per-row codes (-1 for NULL) and the distinct Python values they index."""
    arr = _as_array(column)
    is_list = pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)
    if is_list:
        # "<length>\x1f<a>\x1f<b>": the length tells [] from [""]; NULL lists and
        # lists holding a NULL come out NULL.
        lengths = pc.cast(pc.list_value_length(arr), pa.string())
        arr = pc.binary_join_element_wise(
            lengths, pc.binary_join(arr, LIST_SEPARATOR), LIST_SEPARATOR
        )
    elif pa.types.is_string_view(arr.type) or pa.types.is_null(arr.type):
        arr = arr.cast(pa.string())
    encoded = pc.dictionary_encode(arr)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    values: list[Any] = encoded.dictionary.to_pylist()
    if is_list:
        values = [_split_list(v) for v in values]
    return codes.astype(np.int64, copy=False), values


def _split_list(joined: str) -> tuple[str, ...]:
    count, _, rest = joined.partition(LIST_SEPARATOR)
    return tuple(rest.split(LIST_SEPARATOR)) if int(count) else ()


def plan_chunk(columns: Sequence[Column]) -> ChunkPlan:
    """The plan for a chunk whose first column is the text, the others options."""
    encoded = [_encode(c) for c in columns]
    size = len(encoded[0][0])
    valid = np.ones(size, dtype=bool)
    for codes, _ in encoded:
        valid &= codes >= 0
    # Row key = options in mixed radix, text code last: sorted keys group by options.
    key = np.zeros(size, dtype=np.int64)
    for codes, values in [*encoded[1:], encoded[0]]:
        key = key * max(len(values), 1) + np.maximum(codes, 0)
    items, inverse = np.unique(key[valid], return_inverse=True)
    slots = np.zeros(size, dtype=np.int32)
    slots[valid] = inverse.astype(np.int32, copy=False)
    slot_array = pa.array(slots, type=pa.int32(), mask=~valid)

    text_values = encoded[0][1]
    n_texts = max(len(text_values), 1)
    text_codes = items % n_texts
    option_keys = items // n_texts
    groups: list[Group] = []
    if len(items):
        starts = np.flatnonzero(np.r_[True, option_keys[1:] != option_keys[:-1]])
        ends = np.r_[starts[1:], len(items)]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            groups.append(
                Group(
                    options=_decode_options(int(option_keys[start]), encoded[1:]),
                    texts=[text_values[c] for c in text_codes[start:end].tolist()],
                )
            )
    return ChunkPlan(size=size, nulls=int(size - valid.sum()), slots=slot_array, groups=groups)


def _decode_options(key: int, encoded: Sequence[tuple[np.ndarray, list[Any]]]) -> tuple[Any, ...]:
    out: list[Any] = []
    for _, values in reversed(encoded):
        radix = max(len(values), 1)
        key, code = divmod(key, radix)
        out.append(values[code])
    return tuple(reversed(out))
