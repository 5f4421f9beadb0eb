"""What a call's inputs may be, checked before any RPC is sent: texts and options.

Texts: NULLs are dropped and put back at their positions (`Batch`), anything
that is not a str or None is refused with its index, lone surrogates become
U+FFFD, and a batch is cut into one chunk per RPC. Options: the truncation
policy, the vector dtype, model names and label lists are checked here so a
call that would fail never sends half its requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from textlens.contract import errors
from textlens.contract.results import TRUNCATIONS
from textlens.v1 import textlens_pb2 as pb

T = TypeVar("T")
M = TypeVar("M")

_SURROGATE = re.compile("[\ud800-\udfff]")

_TRUNCATION = {"truncate": pb.TRUNCATION_TRUNCATE, "error": pb.TRUNCATION_ERROR}
_DTYPE = {"float32": pb.VECTOR_DTYPE_FLOAT32, "float16": pb.VECTOR_DTYPE_FLOAT16}


# --- texts ------------------------------------------------------------------


def clean_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, one code point for one.

    Protobuf refuses to encode surrogates, and a one-for-one replacement keeps
    entity offsets valid against the caller's original string.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


@dataclass(frozen=True)
class Batch:
    """The non-NULL texts of one call, and where their answers go back.

    `positions` is None when there was no NULL, so the common case needs no index list.
    """

    size: int
    texts: list[str]
    positions: list[int] | None = None

    @classmethod
    def of(cls, texts: Iterable[str | None]) -> Batch:
        """Drop NULLs, remembering their positions; reject anything that is not str or None."""
        if isinstance(texts, str | bytes):
            raise errors.InvalidInput(
                f"texts must be a sequence of strings, got a single {type(texts).__name__}; "
                "wrap it in a list: [text]"
            )
        try:
            items = texts if isinstance(texts, list | tuple) else list(texts)
        except TypeError:
            raise errors.InvalidInput(
                f"texts must be a sequence of str or None, got {type(texts).__name__}"
            ) from None
        values: list[str] = []
        positions: list[int] = []
        for i, text in enumerate(items):
            if text is None:
                continue
            if not isinstance(text, str):
                raise _not_a_text(i, text)
            values.append(text)
            positions.append(i)
        if len(values) == len(items):
            return cls(size=len(items), texts=values)
        return cls(size=len(items), texts=values, positions=positions)

    def chunks(self, batch_size: int) -> Iterator[list[str]]:
        """The texts, `batch_size` at a time: one RPC each."""
        if len(self.texts) <= batch_size:
            if self.texts:
                yield self.texts
            return
        for start in range(0, len(self.texts), batch_size):
            yield self.texts[start : start + batch_size]

    def chunk_sizes(self, batch_size: int) -> list[int]:
        """len() of each chunk `chunks(batch_size)` yields."""
        n = len(self.texts)
        return [min(batch_size, n - start) for start in range(0, n, batch_size)]

    def scatter(self, values: Sequence[T]) -> list[T | None]:
        """One answer per input position: `values` in order, None where the input was NULL."""
        if len(values) != len(self.texts):
            raise errors.TextlensError(
                f"the server answered {len(values)} results for {len(self.texts)} texts; "
                "the client and server versions may not match"
            )
        if self.positions is None:
            return list(values)
        out: list[T | None] = [None] * self.size
        for position, value in zip(self.positions, values, strict=True):
            out[position] = value
        return out


def _not_a_text(index: int, value: object) -> errors.InvalidInput:
    kind = type(value).__name__
    hint = ""
    if isinstance(value, bytes | bytearray):
        hint = "; decode it to str first"
    elif isinstance(value, float) and value != value:
        hint = "; pass None, not NaN, for a missing text"
    return errors.InvalidInput(f"texts[{index}] is {kind}, expected str or None{hint}")


def with_texts(build: Callable[[list[str]], M], texts: list[str]) -> M:
    """`build(texts)`, cleaning surrogates only if protobuf refuses them (the rare case)."""
    try:
        return build(texts)
    except UnicodeEncodeError:
        return build([clean_text(t) for t in texts])


# --- options ----------------------------------------------------------------


def truncation_enum(truncation: str) -> pb.Truncation:
    """The wire value of a truncation policy; InvalidInput for anything but 'truncate'/'error'."""
    try:
        return _TRUNCATION[truncation]
    except (KeyError, TypeError):
        raise errors.InvalidInput(
            f"truncation must be one of {', '.join(map(repr, TRUNCATIONS))}, got {truncation!r}"
        ) from None


def dtype_enum(dtype: str) -> pb.VectorDtype:
    """The wire value of a vector dtype; InvalidInput for anything but 'float32'/'float16'."""
    try:
        return _DTYPE[dtype]
    except (KeyError, TypeError):
        raise errors.InvalidInput(
            f"dtype must be one of {', '.join(map(repr, _DTYPE))}, got {dtype!r}"
        ) from None


def string_option(name: str, value: object) -> str:
    """A str option that protobuf can encode, checked before any RPC is sent."""
    if not isinstance(value, str):
        raise errors.InvalidInput(f"{name} must be a str, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.InvalidInput(
            f"{name} is not valid UTF-8 (lone surrogate): {value!r}"
        ) from None
    return value


def label_list(labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        return []
    if isinstance(labels, str | bytes):
        raise errors.InvalidInput(
            "labels must be a sequence of label strings, got a single string; "
            "pass e.g. ['positive', 'negative']"
        )
    return [string_option(f"labels[{i}]", label) for i, label in enumerate(labels)]
