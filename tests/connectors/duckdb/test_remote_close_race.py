"""The remote backend never closes its client under a call in flight (issue 22, item 19).

After a ServerUnavailable the first DuckDB thread replaces the backend's client
and used to close the old one at once, while other DuckDB threads could still
be in that client's retry loop: their next attempt failed with `ValueError:
Cannot invoke RPC on closed channel!` (or "this textlens Client is closed"),
uncaught by the UDF. Here the interleaving is forced with events, so the test
fails on that code every time: thread B holds the client, thread A's call
finds the server gone (the ServerUnavailable the client raises after a
restart) and replaces it, then B makes its real RPC on the client it holds.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from textlens.client import Client
from textlens.client.errors import ServerUnavailable
from textlens.client.results import ModelInfo
from textlens.connectors.duckdb.remote import RemoteBackend


def hold_then_call(held: threading.Event, go: threading.Event) -> Any:
    def call(client: Client) -> list[ModelInfo]:
        held.set()
        assert go.wait(30)
        return client.list_models()  # a real RPC on the client this call started with

    return call


def run_in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # reported by the test
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


def test_a_replaced_client_stays_open_for_the_calls_still_on_it(tiny_server: Any) -> None:
    backend = RemoteBackend.connect(tiny_server.target, timeout=30)
    old = backend.client
    held, go = threading.Event(), threading.Event()
    thread, out = run_in_thread(lambda: backend._call(hold_then_call(held, go)))
    assert held.wait(30)

    def server_restarted(client: Client) -> list[ModelInfo]:
        if client is old:
            raise ServerUnavailable(f"textlens server at {client.target} is unavailable")
        return client.list_models()

    assert backend._call(server_restarted)  # A: replaced the client, answered on the new one
    assert backend.client is not old
    go.set()
    thread.join(60)
    assert "error" not in out, repr(out.get("error"))
    assert out["value"] and {m.name for m in out["value"]} == {
        m.name for m in backend.list_models()
    }
    with pytest.raises(Exception, match="closed"):  # closed by its last caller: no leak
        old.list_models()
    backend.close()


def test_close_waits_for_the_calls_in_flight(tiny_server: Any) -> None:
    backend = RemoteBackend.connect(tiny_server.target, timeout=30)
    client = backend.client
    held, go = threading.Event(), threading.Event()
    thread, out = run_in_thread(lambda: backend._call(hold_then_call(held, go)))
    assert held.wait(30)
    backend.close()  # the registration closed while a DuckDB thread is mid-call
    go.set()
    thread.join(60)
    assert "error" not in out, repr(out.get("error"))
    with pytest.raises(Exception, match="closed"):
        client.list_models()
