"""Hot reload: a real gRPC server on loopback swaps in a newly registered version under load.

Two tiny models are trained with disjoint label sets (alpha/beta, then
gamma/delta), so which version answered is visible in every result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch", reason="serving needs the `models` extra")

from tests.helpers import TOPIC_TEXTS, publish_tiny_topics
from textlens.client import Client
from textlens.client.errors import (
    ModelLoadError,
    PermissionDenied,
    Unauthenticated,
    UnknownModel,
)
from textlens.server.assembly import load_models
from textlens.server.model_store import ModelStore
from textlens.server.runtime.reload import served_specs
from textlens.server.settings import ServerSettings
from textlens.server.transport.inprocess import InProcessServer

TOKEN = "op-secret"
TEXTS = TOPIC_TEXTS


@pytest.fixture
def registry_dir(tmp_path: Path, tiny_models_dir: dict[str, Path]) -> Path:
    publish_tiny_topics(tmp_path / "registry", tiny_models_dir["tiny-encoder"], ("alpha", "beta"))
    return tmp_path / "registry"


def wait_until(condition: Any, what: str, timeout: float = 60) -> None:
    """Poll a real condition with a generous timeout (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def start_server(registry_dir: Path, **settings: Any) -> InProcessServer:
    merged: dict[str, Any] = {"models": [], "registry": registry_dir} | settings
    registry = load_models(served_specs(ServerSettings(**merged)))
    return InProcessServer(registry, **merged)


@pytest.fixture
def server(registry_dir: Path) -> Iterator[InProcessServer]:
    with start_server(registry_dir, admin_token=TOKEN, retire_seconds=0.5) as srv:
        yield srv


def test_reload_under_concurrent_load_swaps_without_failures(
    server: InProcessServer, registry_dir: Path, tiny_models_dir: dict[str, Path]
) -> None:
    stop = threading.Event()
    swapped = threading.Event()
    errors: list[BaseException] = []
    before: set[str] = set()
    after: set[str] = set()
    counts = {"during": 0}

    def hammer() -> None:
        with Client(server.target, timeout=30) as client:
            while not stop.is_set():
                started_after_swap = swapped.is_set()
                try:
                    results = client.classify(TEXTS, model="topics")
                except BaseException as exc:
                    errors.append(exc)
                    return
                labels = {r.label for r in results if r is not None}
                (after if started_after_swap else before).update(labels)
                counts["during"] += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    with Client(server.target, timeout=60) as admin:
        old = admin.model_versions()["topics"]
        wait_until(lambda: counts["during"] >= 4, "the clients are calling")
        assert (
            publish_tiny_topics(registry_dir, tiny_models_dir["tiny-encoder"], ("gamma", "delta"))
            == "v2"
        )
        calls_before = counts["during"]
        (outcome,) = admin.reload_models(token=TOKEN)
        swapped.set()
        after_swap = counts["during"]
        # Calls that started after the swap have come back: they ran on the new version.
        wait_until(lambda: counts["during"] >= after_swap + 8, "calls after the swap")
        stop.set()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert calls_before > 0 and counts["during"] > calls_before
        assert outcome.name == "topics" and outcome.changed and outcome.previous_version == old
        assert outcome.source == "local:topics/v2"  # no server path (issue 12 item 4)
        assert before <= {"alpha", "beta", "gamma", "delta"} and before & {"alpha", "beta"}
        assert after and after <= {"gamma", "delta"}
        (info,) = admin.list_models()
        assert info.version == outcome.version != old and info.source == "local:topics/v2"
        assert set(info.labels) == {"gamma", "delta"}
        # Nothing new registered: a second reload changes nothing.
        (again,) = admin.reload_models(["topics"], token=TOKEN)
        assert not again.changed


def test_reload_needs_the_operator_token(server: InProcessServer, registry_dir: Path) -> None:
    with Client(server.target, timeout=30) as client:
        with pytest.raises(Unauthenticated, match="Bearer"):
            client.reload_models(token="")
        with pytest.raises(Unauthenticated, match="wrong"):
            client.reload_models(token="guess")
        with pytest.raises(UnknownModel, match="registered: topics"):
            client.reload_models(["nope"], token=TOKEN)
    with (
        start_server(registry_dir) as no_admin,
        Client(no_admin.target, timeout=30) as client,
        pytest.raises(PermissionDenied, match="TEXTLENS_ADMIN_TOKEN"),
    ):
        client.reload_models(token=TOKEN)


def test_failed_reload_changes_nothing(server: InProcessServer, registry_dir: Path) -> None:
    store = ModelStore(registry_dir)
    with store.staging() as staged:
        good = registry_dir / "topics" / "v1"
        for f in good.iterdir():
            (staged / f.name).write_bytes(f.read_bytes())
        (staged / "delta.safetensors").write_bytes(b"not a safetensors file")
        store.publish("topics", staged)
    with Client(server.target, timeout=30) as client:
        versions = client.model_versions()
        with pytest.raises(ModelLoadError, match="topics"):
            client.reload_models(token=TOKEN)
        assert client.model_versions() == versions
        assert {r.label for r in client.classify(TEXTS, model="topics") if r} <= {"alpha", "beta"}


def test_duckdb_cache_keys_follow_the_version(
    server: InProcessServer, registry_dir: Path, tiny_models_dir: dict[str, Path]
) -> None:
    duckdb = pytest.importorskip("duckdb")
    from textlens.connectors.duckdb import register

    con = duckdb.connect()
    tl = register(con, server.target)
    sql = "SELECT classify(t, 'topics') FROM (VALUES ('the game was good')) v(t)"
    (first,) = con.execute(sql).fetchone() or ()
    assert first in {"alpha", "beta"}
    publish_tiny_topics(registry_dir, tiny_models_dir["tiny-encoder"], ("gamma", "delta"))
    with Client(server.target, timeout=60) as admin:
        admin.reload_models(token=TOKEN)
    tl.models()  # re-reads the versions now; VERSION_TTL does it by itself within 2 s
    (second,) = con.execute(sql).fetchone() or ()
    assert second in {"gamma", "delta"}
    tl.close()


def test_embedded_duckdb_serves_the_registry(registry_dir: Path, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    from textlens.connectors.duckdb import register

    config = tmp_path / "textlens.toml"
    config.write_text(f'models = []\n\n[server]\nregistry = "{registry_dir}"\n')
    con = duckdb.connect()
    tl = register(con, mode="embedded", config=config)
    row = con.execute("SELECT classify('the game was good', []::VARCHAR[], 'topics')").fetchone()
    assert row is not None and row[0] in {"alpha", "beta"}
    tl.close()


def test_async_client_reloads_with_the_token_from_the_environment(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from textlens.client import AsyncClient

    async def reload() -> list[Any]:
        async with AsyncClient(server.target, timeout=30) as client:
            return await client.reload_models()

    monkeypatch.setenv("TEXTLENS_ADMIN_TOKEN", TOKEN)
    (outcome,) = asyncio.run(reload())
    assert outcome.name == "topics" and not outcome.changed
    monkeypatch.setenv("TEXTLENS_ADMIN_TOKEN", "stale")
    with pytest.raises(Unauthenticated):
        asyncio.run(reload())


def test_registry_watch_serves_new_versions_by_itself(
    registry_dir: Path, tiny_models_dir: dict[str, Path]
) -> None:
    def wait_for_version(client: Client, old: str) -> str:
        for _ in range(300):
            version = client.model_versions()["topics"]
            if version != old:
                return version
            time.sleep(0.1)
        raise AssertionError("the watch did not pick up the new version in 30 s")

    with (
        start_server(registry_dir, watch_seconds=0.2, retire_seconds=0.2) as srv,
        Client(srv.target, timeout=30) as client,
    ):
        old = client.model_versions()["topics"]
        publish_tiny_topics(registry_dir, tiny_models_dir["tiny-encoder"], ("gamma", "delta"))
        wait_for_version(client, old)
        assert {r.label for r in client.classify(TEXTS, model="topics") if r} <= {"gamma", "delta"}


def test_reload_command(server: InProcessServer, capsys: pytest.CaptureFixture[str]) -> None:
    from textlens.cli import main

    assert main(["reload", "--target", server.target, "--token", TOKEN]) == 0
    assert "topics" in (out := capsys.readouterr().out) and "unchanged" in out
    assert main(["reload", "--target", server.target, "--token", "nope"]) == 1  # refused
    assert "operator token is wrong" in capsys.readouterr().err
