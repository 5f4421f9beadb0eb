"""gRPC failure -> textlens error mapping and the retry policy, with fake errors."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from textlens.client import errors
from textlens.client.retry import RetryPolicy
from textlens.client.status import ERROR_METADATA_KEY, from_rpc_error

TARGET = "10.0.0.7:50051"


class FakeRpcError(grpc.RpcError):
    """What grpc raises for a failed call: an RpcError that is also a Call."""

    def __init__(
        self, code: grpc.StatusCode, details: str = "", metadata: tuple[tuple[str, Any], ...] = ()
    ) -> None:
        super().__init__()
        self._code, self._details, self._metadata = code, details, metadata

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Any:
        return self._metadata


def convert(err: grpc.RpcError) -> errors.TextlensError:
    return from_rpc_error(err, target=TARGET, method="Sentiment", timeout=60.0)


@pytest.mark.parametrize(
    "cls",
    [errors.UnknownModel, errors.WrongTask, errors.TextTooLong, errors.TooManyTexts],
)
def test_the_metadata_names_the_exact_class(cls: type[errors.TextlensError]) -> None:
    err = FakeRpcError(
        grpc.StatusCode.INVALID_ARGUMENT,
        "no model 'x'; served: a, b",
        ((ERROR_METADATA_KEY, cls.__name__),),
    )
    error = convert(err)
    assert type(error) is cls
    assert str(error) == "no model 'x'; served: a, b"


def test_shutting_down_comes_from_metadata() -> None:
    err = FakeRpcError(
        grpc.StatusCode.UNAVAILABLE,
        "stopping",
        (("other", "x"), (ERROR_METADATA_KEY, "ShuttingDown")),
    )
    assert type(convert(err)) is errors.ShuttingDown


def test_bytes_metadata_value_and_unknown_name() -> None:
    err = FakeRpcError(
        grpc.StatusCode.INVALID_ARGUMENT, "bad", ((ERROR_METADATA_KEY, b"UnknownModel"),)
    )
    assert type(convert(err)) is errors.UnknownModel
    err = FakeRpcError(
        grpc.StatusCode.INVALID_ARGUMENT, "bad", ((ERROR_METADATA_KEY, "FutureError"),)
    )
    assert type(convert(err)) is errors.InvalidInput


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidInput),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, errors.Overloaded),
        (grpc.StatusCode.UNAVAILABLE, errors.ServerUnavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, errors.DeadlineExceeded),
        (grpc.StatusCode.INTERNAL, errors.TextlensError),
        (grpc.StatusCode.UNIMPLEMENTED, errors.TextlensError),
    ],
)
def test_fallback_by_status_code(code: grpc.StatusCode, cls: type[errors.TextlensError]) -> None:
    assert type(convert(FakeRpcError(code, "details"))) is cls


def test_connection_refused_names_the_target_and_what_to_do() -> None:
    details = (
        "failed to connect to all addresses; last error: UNKNOWN: "
        f"ipv4:{TARGET}: Failed to connect to remote host: Connection refused"
    )
    message = str(convert(FakeRpcError(grpc.StatusCode.UNAVAILABLE, details)))
    assert message == (
        f"textlens server at {TARGET} is unavailable (connection refused); "
        "start it with `textlens serve` or check TEXTLENS_TARGET"
    )


def test_client_side_deadline_names_the_timeout() -> None:
    message = str(convert(FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")))
    assert TARGET in message and "60s" in message and "timeout" in message


def test_an_oversized_message_is_invalid_input_not_overload() -> None:
    err = FakeRpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED, "Sent message larger than max (70000000 vs. 67108864)"
    )
    error = convert(err)
    assert type(error) is errors.InvalidInput
    assert "batch_size" in str(error)


def test_a_bare_rpc_error_is_still_converted() -> None:
    assert type(convert(grpc.RpcError())) is errors.TextlensError


def test_retry_policy() -> None:
    policy = RetryPolicy(retries=2, backoff=0.1)
    overloaded = errors.Overloaded("full")
    first = policy.pause(overloaded, 0, remaining=10.0)
    assert first is not None and 0.05 <= first <= 0.1
    second = policy.pause(errors.ServerUnavailable("down"), 1, remaining=10.0)
    assert second is not None and 0.1 <= second <= 0.2
    assert policy.pause(errors.ShuttingDown("bye"), 1, remaining=10.0) is not None
    assert policy.pause(overloaded, 2, remaining=10.0) is None  # retries spent
    assert policy.pause(overloaded, 0, remaining=0.01) is None  # would pass the deadline
    assert policy.pause(errors.InvalidInput("bad"), 0, remaining=10.0) is None
    assert policy.pause(errors.DeadlineExceeded("late"), 0, remaining=10.0) is None


def test_pauses_are_capped() -> None:
    pause = RetryPolicy(retries=50, backoff=1.0, max_backoff=2.0).pause(
        errors.Overloaded("x"), 40, remaining=100.0
    )
    assert pause is not None and pause <= 2.0
