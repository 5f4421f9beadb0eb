"""A remote registration notices a new model version by itself (README: the model
list is re-read every 2 s, and at once after an error), with no `tl.models()`.

A real gRPC server on loopback serves `topics` from a registry; a second tiny
classifier with other labels is published and hot-reloaded, so which version
answered is visible in every result. The answers are cached by model version:
a missed re-read would keep serving the old labels from the cache.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import TOPIC_TEXTS, publish_tiny_topics

pytest.importorskip("torch", reason="serving needs the `models` extra")
duckdb = pytest.importorskip("duckdb")

TOKEN = "op-secret"
TEXTS = TOPIC_TEXTS
QUERY = "SELECT list(DISTINCT classify(s, 'topics') ORDER BY 1) FROM t"


@pytest.fixture
def served(tmp_path: Path, tiny_models_dir: dict[str, Path]) -> Iterator[tuple[Any, Path]]:
    from textlens.server.assembly import load_models
    from textlens.server.runtime.reload import served_specs
    from textlens.server.settings import ServerSettings
    from textlens.server.transport.inprocess import InProcessServer

    registry = tmp_path / "registry"
    publish_tiny_topics(registry, tiny_models_dir["tiny-encoder"], ("alpha", "beta"))
    settings: dict[str, Any] = {"models": [], "registry": registry, "admin_token": TOKEN}
    models = load_models(served_specs(ServerSettings(**settings)))
    with InProcessServer(models, **settings) as server:
        yield server, registry


def labels_of(con: Any) -> set[str]:
    (labels,) = con.execute(QUERY).fetchone()
    return set(labels)


def swap_version(server: Any, registry: Path, base: Path) -> None:
    from textlens.client import Client

    publish_tiny_topics(registry, base, ("gamma", "delta"))
    with Client(server.target, timeout=60) as admin:
        (outcome,) = admin.reload_models(["topics"], token=TOKEN)
    assert outcome.source.endswith("topics/v2") and outcome.version != outcome.previous_version


@pytest.fixture
def con() -> Iterator[Any]:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (s VARCHAR)")
    connection.executemany("INSERT INTO t VALUES (?)", [[t] for t in TEXTS])
    yield connection
    connection.close()


def test_a_new_version_is_seen_after_the_ttl(
    served: tuple[Any, Path], con: Any, tiny_models_dir: dict[str, Path]
) -> None:
    from textlens.connectors.duckdb import register
    from textlens.connectors.duckdb.register import VERSION_TTL

    server, registry = served
    with register(con, server.target) as tl:
        assert labels_of(con) <= {"alpha", "beta"}
        swap_version(server, registry, tiny_models_dir["tiny-encoder"])
        swapped_at = time.monotonic()
        calls = tl.stats().calls
        # Within the TTL the cached version (and its cached answers) may still be used;
        # once it has passed, the next query must read the list and answer with v2.
        time.sleep(max(0.0, VERSION_TTL + 0.2 - (time.monotonic() - swapped_at)))
        assert labels_of(con) <= {"gamma", "delta"}
        assert tl.stats().calls > calls  # computed again, not answered from the cache


def test_an_error_makes_the_next_query_reread_at_once(
    served: tuple[Any, Path],
    con: Any,
    tiny_models_dir: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a TTL of an hour, only the error can explain the new version being seen."""
    import importlib

    from textlens.connectors.duckdb import register

    module = importlib.import_module("textlens.connectors.duckdb.register")
    monkeypatch.setattr(module, "VERSION_TTL", 3600.0)
    server, registry = served
    with register(con, server.target, truncation="error"):
        assert labels_of(con) <= {"alpha", "beta"}
        swap_version(server, registry, tiny_models_dir["tiny-encoder"])
        assert labels_of(con) <= {"alpha", "beta"}  # the cached list: still v1's answers
        # An error from the server on a known model (not a name lookup, which re-reads
        # the list by itself): a text over the model's length under truncation="error".
        with pytest.raises(duckdb.Error, match="TextTooLong"):
            con.execute("SELECT classify(repeat('word ', 300), 'topics')").fetchall()
        assert labels_of(con) <= {"gamma", "delta"}
