"""Client plumbing (retries, deadline, error conversion, lifecycle) against fake stubs.

The channel is real but never connects: every RPC goes to a fake method.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from textlens.client import AsyncClient, Client, errors
from textlens.client.limits import DEFAULT_TARGET, TARGET_ENV
from textlens.v1 import textlens_pb2 as pb

from .test_status import FakeRpcError


class FakeStub:
    """Answers Sentiment from a script of errors, then echoes the texts as labels."""

    def __init__(self, failures: list[grpc.RpcError]) -> None:
        self.failures = failures
        self.calls: list[tuple[list[str], float]] = []

    def Sentiment(self, request: pb.SentimentRequest, timeout: float) -> pb.SentimentResponse:
        self.calls.append((list(request.texts), timeout))
        if self.failures:
            raise self.failures.pop(0)
        return pb.SentimentResponse(results=[pb.SentimentResult(label=t) for t in request.texts])


def labels(results: list[Any]) -> list[str | None]:
    return [r.label if r is not None else None for r in results]


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


def test_retries_overload_then_succeeds_in_batches() -> None:
    stub = FakeStub([FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full")])
    with Client("x:1", backoff=0.001, batch_size=2) as client:
        client._stub = stub
        assert labels(client.sentiment(["a", None, "b", "c"])) == ["a", None, "b", "c"]
    assert [texts for texts, _ in stub.calls] == [["a", "b"], ["a", "b"], ["c"]]
    # One deadline for the whole call: later RPCs get what is left of it.
    assert all(timeout <= 60.0 for _, timeout in stub.calls)
    assert stub.calls[-1][1] <= stub.calls[0][1]


def test_gives_up_after_retries_with_the_real_error() -> None:
    refused = FakeRpcError(grpc.StatusCode.UNAVAILABLE, "Connection refused")
    stub = FakeStub([refused] * 10)
    with Client("x:1", retries=2, backoff=0.001) as client:
        client._stub = stub
        with pytest.raises(
            errors.ServerUnavailable, match=r"x:1 is unavailable \(connection refused\)"
        ):
            client.sentiment(["a"])
    assert len(stub.calls) == 3


def test_other_errors_are_not_retried() -> None:
    stub = FakeStub(
        [
            FakeRpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                "no model 'm'",
                (("textlens-error", "UnknownModel"),),
            )
        ]
    )
    with Client("x:1") as client:
        client._stub = stub
        with pytest.raises(errors.UnknownModel, match="no model 'm'") as info:
            client.sentiment(["a"], model="m")
    assert len(stub.calls) == 1
    assert not isinstance(info.value, grpc.RpcError)


def test_no_retry_pause_past_the_deadline() -> None:
    stub = FakeStub([FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "full")] * 10)
    with Client("x:1", timeout=0.05, retries=10, backoff=1.0) as client:
        client._stub = stub
        with pytest.raises(errors.Overloaded):
            client.sentiment(["a"])
    assert len(stub.calls) == 1


def test_validation_happens_before_any_rpc() -> None:
    stub = FakeStub([])
    with Client("x:1") as client:
        client._stub = stub
        with pytest.raises(errors.InvalidInput):
            client.sentiment(["a"], truncation="chop")  # type: ignore[arg-type]
    assert stub.calls == []


def test_a_closed_client_raises_textlens_error() -> None:
    client = Client("x:1")
    client.close()
    client.close()
    with pytest.raises(errors.TextlensError, match="closed"):
        client.sentiment(["a"])


class AsyncFakeStub(FakeStub):
    """The same script, answered the grpc.aio way: the call returns an awaitable."""

    def Sentiment(self, request: pb.SentimentRequest, timeout: float) -> Any:
        async def answer() -> pb.SentimentResponse:
            return FakeStub.Sentiment(self, request, timeout)

        return answer()


def test_async_client_retries_and_converts() -> None:
    async def main() -> None:
        stub = AsyncFakeStub(
            [
                FakeRpcError(
                    grpc.StatusCode.UNAVAILABLE, "stopping", (("textlens-error", "ShuttingDown"),)
                )
            ]
        )
        async with AsyncClient("x:1", backoff=0.001, batch_size=1) as client:
            client._ensure_channel()
            client._stub = stub
            assert labels(await client.sentiment([None, "a", "b"])) == [None, "a", "b"]
            stub.failures = [FakeRpcError(grpc.StatusCode.INTERNAL, "boom")]
            with pytest.raises(errors.TextlensError, match=r"x:1 failed \(INTERNAL: boom\)"):
                await client.sentiment(["a"])
        assert len(stub.calls) == 4
        with pytest.raises(errors.TextlensError, match="closed"):
            await client.sentiment(["a"])

    asyncio.run(main())
