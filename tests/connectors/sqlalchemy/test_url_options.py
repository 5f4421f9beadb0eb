"""The `duckdb+textlens` URL options end to end (connectors/textlens/connectors/sqlalchemy/options.py's table).

Each option is checked by what a query through SQLAlchemy answers: embedded
mode over a config file, the default model per family, truncation, and the
one-configuration-per-database-file rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from textlens.connectors.sqlalchemy.dialect import close_all

#: The tiny models' vector size (tests/conftest.py); the default embed model has 384.
TINY_DIM = 32
LONG = "word " * 400


def url(path: Path, **query: str) -> str:
    return f"duckdb+textlens:///{path}?" + "&".join(
        f"{k}={v}" for k, v in {"read_only": "true", **query}.items()
    )


@pytest.fixture
def engine() -> Iterator[Any]:
    made: list[sa.Engine] = []

    def make(address: str) -> sa.Engine:
        made.append(sa.create_engine(address))
        return made[-1]

    yield make
    for e in made:
        e.dispose()
    close_all()


def test_embedded_mode_runs_the_config_models_in_process(
    warehouse: Path, tiny_config: Path, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """textlens_mode=embedded wins over $TEXTLENS_TARGET (here a port nobody listens on)."""
    monkeypatch.setenv("TEXTLENS_TARGET", "127.0.0.1:9")
    e = engine(url(warehouse, textlens_mode="embedded", textlens_config=str(tiny_config)))
    with e.connect() as con:
        label = con.execute(sa.text("SELECT sentiment('great product')")).scalar_one()
        dim = con.execute(sa.text("SELECT len(embed('a short text'))")).scalar_one()
    assert label in {"negative", "positive"}  # the tiny model's two labels
    assert dim == TINY_DIM


def test_textlens_models_sets_the_default_model_of_a_family(
    warehouse: Path, tiny_server: Any, engine: Any
) -> None:
    e = engine(
        url(warehouse, textlens_target=tiny_server.target, textlens_models="embed:tiny-embed-short")
    )
    text = "the kettle in the kitchen stopped working after only two short days of use"
    with e.connect() as con:
        same, other = con.execute(
            sa.text(
                "SELECT embed(:t) = embed(:t, 'tiny-embed-short'), embed(:t) = embed(:t, 'tiny-embed')"
            ),
            {"t": text},
        ).one()
    assert (same, other) == (True, False)


def test_textlens_truncation_error_refuses_long_texts(
    warehouse: Path, tiny_server: Any, engine: Any
) -> None:
    cut = engine(url(warehouse, textlens_target=tiny_server.target, textlens_prefix="cut_"))
    strict = engine(
        url(
            warehouse,
            textlens_target=tiny_server.target,
            textlens_truncation="error",
            textlens_prefix="strict_",
        )
    )
    with cut.connect() as con:
        assert con.execute(sa.text("SELECT cut_sentiment(:t)"), {"t": LONG}).scalar_one()
    with strict.connect() as con, pytest.raises(sa.exc.DBAPIError, match="TextTooLong"):
        con.execute(sa.text("SELECT strict_sentiment(:t)"), {"t": LONG})


def test_one_configuration_per_database_file_and_prefix(
    warehouse: Path, tiny_server: Any, engine: Any
) -> None:
    first = engine(url(warehouse, textlens_target=tiny_server.target))
    other = engine(url(warehouse, textlens_target=tiny_server.target, textlens_truncation="error"))
    with first.connect() as con:
        assert con.execute(sa.text("SELECT sentiment('fine')")).scalar_one()
    with pytest.raises(RuntimeError, match="give each configuration its own textlens_prefix"):
        other.connect()
    separate = engine(
        url(
            warehouse,
            textlens_target=tiny_server.target,
            textlens_truncation="error",
            textlens_prefix="err_",
        )
    )
    with separate.connect() as con:
        assert con.execute(sa.text("SELECT err_sentiment('fine')")).scalar_one()
