"""Helpers the DuckDB connector tests share (import them; never import a test module)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tiny_models import TINY_TOML as TINY_TOML

#: A text far over every model's window (~2000 tokens).
LONG = "the movie was good and the acting was great " * 200
UNICODE = "Zoë flew from Zürich to 北京 😀 with Mary, naïve café crème"
TEXTS: list[str | None] = [
    "I love it, a great product",
    None,
    "",
    "I love it, a great product",
    "terrible, it broke after a day",
    UNICODE,
    LONG,
]


def with_texts(con: Any, texts: list[str | None] = TEXTS) -> Any:
    con.execute("CREATE OR REPLACE TABLE t (id INTEGER, review VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    return con


def column(con: Any, sql: str) -> list[Any]:
    return [row[0] for row in con.execute(f"SELECT {sql} FROM t ORDER BY id").fetchall()]


def assert_equal(left: Any, right: Any, where: str) -> None:
    """Equal, floats to 1e-5 (batches differ between modes; fp32 kernels vary in the last bits)."""
    if isinstance(left, float):
        assert right == pytest.approx(left, abs=1e-5), where
    elif isinstance(left, dict):
        assert list(left) == list(right), where
        for key in left:
            assert_equal(left[key], right[key], where)
    elif isinstance(left, list | tuple):
        assert len(left) == len(right), where
        for a, b in zip(left, right, strict=True):
            assert_equal(a, b, where)
    else:
        assert left == right, where


def declared(tiny: dict[str, Path], other_languages: str = "null") -> str:
    """TINY_TOML with the sentiment, aspect and ner models declared English-only, plus
    `tiny-any`: the same sentiment model with nothing declared (a hub model)."""
    policy = f'languages = ["en"]\nother_languages = "{other_languages}"\n'
    text = TINY_TOML
    for name in ("tiny-sentiment", "tiny-aspect", "tiny-ner"):
        text = text.replace(f'name = "{name}"\n', f'name = "{name}"\n{policy}')
    text += '\n[[models]]\nname = "tiny-any"\ntask = "sentiment"\nsource = "{sequence}"\n'
    return text.format(
        sequence=tiny["tiny-sequence"], token=tiny["tiny-token"], encoder=tiny["tiny-encoder"]
    )


#: The tiny models' size: hidden_size in tests/conftest.py.
TINY_DIM = 32


#: Tokens the tiny models accept (max_position_embeddings in tests/conftest.py).
TINY_MAX_TOKENS = 128
