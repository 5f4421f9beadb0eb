"""A remote chunk takes at most its timeout, the reconnect try included: the retry on a
fresh channel gets what is left of the first try's deadline, not a fresh one."""

from __future__ import annotations

import time

import pytest

from tests.helpers import free_port
from textlens.client.deadline import call_deadline, operation_deadline
from textlens.connectors.duckdb.remote import RemoteBackend
from textlens.contract.errors import ServerUnavailable


def test_an_operation_deadline_bounds_every_call_inside_it() -> None:
    with operation_deadline(1.0):
        assert call_deadline(60.0) <= time.monotonic() + 1.0
        with operation_deadline(30.0):  # an inner operation cannot extend the outer one
            assert call_deadline(60.0) <= time.monotonic() + 1.0
    assert call_deadline(5.0) > time.monotonic() + 4.0  # outside: the call's own


def test_the_reconnect_try_does_not_restart_the_deadline() -> None:
    """The try on the fresh channel gets the first try's deadline, not a new one."""
    from textlens.client import Client

    target = f"127.0.0.1:{free_port()}"
    backend = RemoteBackend(
        Client(target, timeout=30.0), owns=True, reconnect=lambda: Client(target, timeout=30.0)
    )
    deadlines: list[float] = []

    def call(client: Client) -> str:
        deadlines.append(call_deadline(client.timeout))
        if len(deadlines) == 1:
            time.sleep(0.3)  # the first try spends some of the deadline, then fails
            raise ServerUnavailable("connection refused")
        return "answered"

    try:
        assert backend._call(call) == "answered"
    finally:
        backend.close()
    first, retry = deadlines
    assert retry == pytest.approx(first, abs=0.01), "the reconnect try got a fresh deadline"
