"""Fixtures for the DuckDB connector tests.

Most tests run on the tiny random models (tests/conftest.py builds them): they
load in milliseconds, so every function can be exercised in both modes, on a
real `textlens serve` process, in a few seconds. Answers of tiny models are
meaningless but deterministic, which is all that equality between modes,
NULL handling, caching and error paths need. `test_default_models.py` runs
the committed default models for answers that must make sense.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

duckdb = pytest.importorskip("duckdb", reason="the DuckDB connector needs the `duckdb` extra")
pytest.importorskip("pyarrow", reason="the DuckDB connector needs the `duckdb` extra")

from textlens.connectors.duckdb import (  # noqa: E402
    EmbeddedBackend,
    Registration,
    register,
)


@pytest.fixture(scope="session")
def tiny_analyzer(tiny_config: Path) -> Iterator[Any]:
    """The runtime over the tiny models, in this process (embedded mode)."""
    from textlens.server.assembly import load_analyzer
    from textlens.server.settings import load_settings

    analyzer = load_analyzer(load_settings(tiny_config).models)
    yield analyzer
    analyzer.close()


@pytest.fixture
def connect() -> Iterator[Callable[..., Any]]:
    """`connect(path=None)`: fresh DuckDB connections, closed after the test."""
    opened: list[Any] = []

    def open_connection(path: str | Path | None = None) -> Any:
        con = duckdb.connect(str(path) if path is not None else ":memory:")
        opened.append(con)
        return con

    yield open_connection
    for con in opened:
        con.close()


@pytest.fixture(params=["embedded", "remote"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def registered(
    request: pytest.FixtureRequest,
    connect: Callable[..., Any],
    tiny_analyzer: Any,
) -> Iterator[Callable[..., tuple[Any, Registration]]]:
    """`registered(mode, **register_kwargs)` -> (connection, registration) on the tiny models.

    Embedded registrations share the session's tiny runtime; remote ones talk
    to the session's tiny server (started only when a test asks for remote).
    """
    made: list[Registration] = []

    def make(mode: str, **kwargs: Any) -> tuple[Any, Registration]:
        con = kwargs.pop("con", None) or connect()
        if mode == "embedded":
            registration = register(con, backend=EmbeddedBackend(tiny_analyzer), **kwargs)
        else:
            server = request.getfixturevalue("tiny_server")
            registration = register(con, server.target, **kwargs)
        made.append(registration)
        return con, registration

    yield make
    for registration in made:
        registration.close()
