"""Client plumbing (retries, deadline, error conversion, batching, lifecycle) over real gRPC.

Every call goes through a real channel to a real gRPC server on a loopback
port: the scripted server (`scripted_server.py`), which fails Sentiment calls
from a script and otherwise echoes each text as its label.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import pytest

from textlens.client import AsyncClient, Client, SentimentResult, errors
from textlens.client.limits import DEFAULT_TARGET, TARGET_ENV

from .scripted_server import Failure, ScriptedServer, start_later, unused_port

RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


def labels(results: Sequence[SentimentResult | None]) -> list[str | None]:
    return [r.label if r is not None else None for r in results]


# --- settings ----------------------------------------------------------------


def test_target_from_argument_env_or_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TARGET_ENV, raising=False)
    with Client() as client:
        assert client.target == DEFAULT_TARGET
    monkeypatch.setenv(TARGET_ENV, "models.internal:6000")
    with Client() as client:
        assert client.target == "models.internal:6000"
    with Client("other:1") as client:
        assert client.target == "other:1"


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": 0}, {"retries": -1}, {"backoff": -0.1}, {"batch_size": 0}],
)
def test_bad_settings_raise_value_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Client("x:1", **kwargs)


# --- retries and batching ----------------------------------------------------


def test_retries_overload_then_succeeds_in_batches(scripted_server: ScriptedServer) -> None:
    scripted_server.fail(RESOURCE_EXHAUSTED, "queue full")
    scripted_server.delay = 0.05
    # Under 1 s, because gRPC sends longer timeouts rounded up to 10 ms .. 1 s units.
    with Client(scripted_server.target, timeout=0.9, backoff=0.001, batch_size=2) as client:
        assert labels(client.sentiment(["a", None, "b", "c"])) == ["a", None, "b", "c"]
    # The first batch once refused and once answered, then the second batch.
    assert scripted_server.sent_texts == [["a", "b"], ["a", "b"], ["c"]]
    # One deadline for the whole call: each RPC gets what is left of it, so the
    # last one has lost at least the two 0.05 s answers before it.
    first, *_, last = [call.time_remaining or 0.0 for call in scripted_server.calls]
    assert 0.5 < first <= 0.91  # the wire rounds the 0.9 s up (a 10 ms unit)
    assert 0 < last <= first - 0.09


@pytest.mark.parametrize(
    ("failure", "cls", "message"),
    [
        (Failure(RESOURCE_EXHAUSTED, "queue full"), errors.Overloaded, "queue full"),
        (
            Failure(UNAVAILABLE, "server is stopping", "ShuttingDown"),
            errors.ShuttingDown,
            "server is stopping",
        ),
        (Failure(UNAVAILABLE, "draining"), errors.ServerUnavailable, "unavailable (draining)"),
    ],
    ids=["overloaded", "shutting-down", "unavailable"],
)
def test_gives_up_after_retries_with_the_real_error(
    scripted_server: ScriptedServer,
    failure: Failure,
    cls: type[errors.TextlensError],
    message: str,
) -> None:
    scripted_server.script(*[failure] * 10)
    with (
        Client(scripted_server.target, retries=2, backoff=0.001) as client,
        pytest.raises(cls) as info,
    ):
        client.sentiment(["a"])
    assert type(info.value) is cls
    assert message in str(info.value)
    assert len(scripted_server.calls) == 3  # the first try and 2 retries
    assert scripted_server.failures_left == 7


def test_invalid_argument_is_not_retried_and_keeps_the_exact_class(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.fail(grpc.StatusCode.INVALID_ARGUMENT, "no model 'm'", "UnknownModel", times=5)
    with (
        Client(scripted_server.target, backoff=0.001) as client,
        pytest.raises(errors.UnknownModel, match="no model 'm'") as info,
    ):
        client.sentiment(["a"], model="m")
    assert type(info.value) is errors.UnknownModel
    assert not isinstance(info.value, grpc.RpcError)
    # The gRPC error stays reachable as the cause, for debugging.
    assert isinstance(info.value.__cause__, grpc.RpcError)
    assert [(call.texts, call.model) for call in scripted_server.calls] == [(["a"], "m")]


def test_no_retry_pause_past_the_deadline(scripted_server: ScriptedServer) -> None:
    scripted_server.fail(RESOURCE_EXHAUSTED, "full", times=10)
    # The first pause (0.5 to 1 s) cannot fit in the 0.4 s deadline: fail at once.
    with Client(scripted_server.target, timeout=0.4, retries=10, backoff=1.0) as client:
        start = time.monotonic()
        with pytest.raises(errors.Overloaded, match="full"):
            client.sentiment(["a"])
        elapsed = time.monotonic() - start
    assert elapsed < 0.4
    assert len(scripted_server.calls) == 1


# --- deadlines and unreachable servers -----------------------------------------


def test_slow_server_raises_deadline_exceeded(scripted_server: ScriptedServer) -> None:
    scripted_server.delay = 2.0
    with Client(scripted_server.target, timeout=0.3, backoff=0.001) as client:
        start = time.monotonic()
        with pytest.raises(errors.DeadlineExceeded) as info:
            client.sentiment(["a"])
        elapsed = time.monotonic() - start
    assert 0.25 <= elapsed < 1.5
    message = str(info.value)
    assert scripted_server.target in message and "0.3s" in message and "timeout" in message
    # A passed deadline is not retried, and the server saw the client's deadline.
    [call] = scripted_server.calls
    # gRPC sends the timeout rounded up to its wire unit, so the server may see a hair more.
    assert call.time_remaining is not None and 0 < call.time_remaining <= 0.3 + 0.01


def test_server_not_running_raises_server_unavailable_naming_the_target(
    dead_target: str,
) -> None:
    with (
        Client(dead_target, retries=1, backoff=0.01) as client,
        pytest.raises(errors.ServerUnavailable) as info,
    ):
        client.sentiment(["a"])
    message = str(info.value)
    assert dead_target in message
    assert "connection refused" in message and "textlens serve" in message


def test_retries_reach_a_server_started_after_the_first_attempt(
    make_scripted_server: Callable[..., ScriptedServer],
) -> None:
    port = unused_port()
    target = f"127.0.0.1:{port}"
    server = make_scripted_server(port)
    begun = time.monotonic()
    starter = start_later(server, after=0.3)
    try:
        # Nobody listens yet: an attempt now is refused...
        with Client(target, retries=0) as client, pytest.raises(errors.ServerUnavailable):
            client.sentiment(["early"])
        # ...and a client that retries gets through once the server is up.
        with Client(target, timeout=10.0, retries=20, backoff=0.05) as client:
            assert labels(client.sentiment(["late", None])) == ["late", None]
        assert time.monotonic() - begun >= 0.3
    finally:
        starter.join(5)
    assert server.sent_texts == [["late"]]


# --- lifecycle and validation ----------------------------------------------------


def test_validation_happens_before_any_rpc(scripted_server: ScriptedServer) -> None:
    with Client(scripted_server.target) as client, pytest.raises(errors.InvalidInput):
        client.sentiment(["a"], truncation="chop")  # type: ignore[arg-type]
    assert scripted_server.calls == []


def test_a_closed_client_raises_textlens_error(scripted_server: ScriptedServer) -> None:
    client = Client(scripted_server.target)
    assert labels(client.sentiment(["a"])) == ["a"]
    client.close()
    client.close()
    with pytest.raises(errors.TextlensError, match="closed"):
        client.sentiment(["a"])
    assert len(scripted_server.calls) == 1


# --- asyncio ---------------------------------------------------------------------


def test_async_client_retries_and_converts(scripted_server: ScriptedServer) -> None:
    target = scripted_server.target

    async def main() -> None:
        scripted_server.fail(UNAVAILABLE, "stopping", "ShuttingDown")
        async with AsyncClient(target, backoff=0.001, batch_size=1) as client:
            assert labels(await client.sentiment([None, "a", "b"])) == [None, "a", "b"]
            assert scripted_server.sent_texts == [["a"], ["a"], ["b"]]

            scripted_server.fail(grpc.StatusCode.INTERNAL, "boom")
            with pytest.raises(errors.TextlensError, match=rf"{target} failed \(INTERNAL: boom\)"):
                await client.sentiment(["c"])

            scripted_server.fail(grpc.StatusCode.INVALID_ARGUMENT, "too long", "TextTooLong")
            with pytest.raises(errors.TextTooLong, match="too long"):
                await client.sentiment(["d"])
        assert len(scripted_server.calls) == 5  # neither INTERNAL nor INVALID_ARGUMENT retried
        with pytest.raises(errors.TextlensError, match="closed"):
            await client.sentiment(["a"])

    asyncio.run(main())


def test_async_client_gives_up_after_retries_and_honours_the_deadline(
    scripted_server: ScriptedServer, dead_target: str
) -> None:
    async def main() -> None:
        scripted_server.fail(RESOURCE_EXHAUSTED, "queue full", times=3)
        async with AsyncClient(scripted_server.target, retries=2, backoff=0.001) as client:
            with pytest.raises(errors.Overloaded, match="queue full"):
                await client.sentiment(["a"])
        assert len(scripted_server.calls) == 3
        assert scripted_server.failures_left == 0

        scripted_server.delay = 2.0
        async with AsyncClient(scripted_server.target, timeout=0.3) as client:
            with pytest.raises(errors.DeadlineExceeded, match=r"0\.3s"):
                await client.sentiment(["b"])
        assert len(scripted_server.calls) == 4  # a passed deadline is not retried

        async with AsyncClient(dead_target, retries=1, backoff=0.01) as client:
            with pytest.raises(errors.ServerUnavailable, match=dead_target):
                await client.sentiment(["c"])

    asyncio.run(main())
