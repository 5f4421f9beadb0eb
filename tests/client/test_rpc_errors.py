"""gRPC failure -> textlens error mapping, and the retry policy.

The mapping is exercised over real gRPC: a scripted server on a loopback port
aborts with the status and trailers under test, or gRPC itself fails the call
(nothing listening, a message over the size limit, an unimplemented method).
Only the pure rules (trailer values given as plain tuples, the retry policy)
are tested without a server.
"""

from __future__ import annotations

import grpc
import pytest

from textlens.client import Client, errors
from textlens.client.retry import RetryPolicy
from textlens.client.rpc_errors import ERROR_METADATA_KEY, error_class_from_metadata, from_rpc_error

from .scripted_server import Failure, ScriptedServer


def fail_once(server: ScriptedServer, failure: Failure) -> errors.TextlensError:
    """The error a no-retry Client raises for one Sentiment call that fails with `failure`."""
    server.script(failure)
    with Client(server.target, retries=0) as client, pytest.raises(errors.TextlensError) as info:
        client.sentiment(["a"])
    assert len(server.calls) == 1
    assert isinstance(info.value.__cause__, grpc.RpcError)
    return info.value


# --- the server names the class in the textlens-error trailer ------------------


@pytest.mark.parametrize(
    "cls",
    [errors.UnknownModel, errors.WrongTask, errors.TextTooLong, errors.TooManyTexts],
)
def test_the_trailer_names_the_exact_class(
    scripted_server: ScriptedServer, cls: type[errors.TextlensError]
) -> None:
    details = "no model 'x'; served: a, b"
    failure = Failure(grpc.StatusCode.INVALID_ARGUMENT, details, cls.__name__)
    error = fail_once(scripted_server, failure)
    assert type(error) is cls
    assert str(error) == details


def test_shutting_down_comes_from_the_trailer_among_others(
    scripted_server: ScriptedServer,
) -> None:
    failure = Failure(
        grpc.StatusCode.UNAVAILABLE, "stopping", "ShuttingDown", extra_trailers=(("other", "x"),)
    )
    assert type(fail_once(scripted_server, failure)) is errors.ShuttingDown


def test_an_unknown_class_name_falls_back_to_the_status_code(
    scripted_server: ScriptedServer,
) -> None:
    failure = Failure(grpc.StatusCode.INVALID_ARGUMENT, "bad", "FutureError")
    error = fail_once(scripted_server, failure)
    assert type(error) is errors.InvalidInput
    assert str(error) == "bad"


def test_trailer_values_as_bytes_or_unknown_names() -> None:
    """Pure rule: trailing metadata as plain (key, value) pairs, as either gRPC API hands it."""
    assert error_class_from_metadata(((ERROR_METADATA_KEY, b"UnknownModel"),)) is (
        errors.UnknownModel
    )
    assert error_class_from_metadata((("other", "x"), (ERROR_METADATA_KEY, "WrongTask"))) is (
        errors.WrongTask
    )
    assert error_class_from_metadata(((ERROR_METADATA_KEY, "FutureError"),)) is None
    assert error_class_from_metadata((("other", "UnknownModel"),)) is None
    assert error_class_from_metadata(None) is None
    assert error_class_from_metadata([("malformed",)]) is None


# --- no trailer: the status code decides ----------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidInput),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, errors.Overloaded),
        (grpc.StatusCode.UNAVAILABLE, errors.ServerUnavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, errors.DeadlineExceeded),
        (grpc.StatusCode.INTERNAL, errors.TextlensError),
        (grpc.StatusCode.UNAUTHENTICATED, errors.TextlensError),
    ],
)
def test_fallback_by_status_code(
    scripted_server: ScriptedServer, code: grpc.StatusCode, cls: type[errors.TextlensError]
) -> None:
    error = fail_once(scripted_server, Failure(code, "details"))
    assert type(error) is cls


def test_refused_credentials_say_to_check_them(scripted_server: ScriptedServer) -> None:
    error = fail_once(scripted_server, Failure(grpc.StatusCode.PERMISSION_DENIED, "no token"))
    assert "PERMISSION_DENIED: no token" in str(error) and "credentials" in str(error)


def test_an_unimplemented_method_names_the_target(scripted_server: ScriptedServer) -> None:
    # The scripted servicer implements only Sentiment: gRPC answers UNIMPLEMENTED itself.
    with Client(scripted_server.target) as client, pytest.raises(errors.TextlensError) as info:
        client.entities(["a"])
    assert type(info.value) is errors.TextlensError
    assert str(info.value) == (
        f"the server at {scripted_server.target} does not implement Entities; "
        f"check that {scripted_server.target} is a textlens server of a compatible version"
    )


# --- failures gRPC detects on the client side -----------------------------------


def test_connection_refused_names_the_target_and_what_to_do(dead_target: str) -> None:
    with Client(dead_target, retries=0) as client, pytest.raises(errors.ServerUnavailable) as info:
        client.sentiment(["a"])
    assert str(info.value) == (
        f"textlens server at {dead_target} is unavailable (connection refused); "
        "start it with `textlens serve` or check TEXTLENS_TARGET"
    )


def test_client_side_deadline_names_the_timeout(scripted_server: ScriptedServer) -> None:
    scripted_server.delay = 2.0
    with (
        Client(scripted_server.target, timeout=0.2) as client,
        pytest.raises(errors.DeadlineExceeded) as info,
    ):
        client.sentiment(["a"])
    message = str(info.value)
    assert scripted_server.target in message and "0.2s" in message and "timeout" in message


def test_an_oversized_request_is_invalid_input_not_overload(
    scripted_server: ScriptedServer,
) -> None:
    options = [("grpc.max_send_message_length", 1024)]
    with (
        Client(scripted_server.target, options=options, backoff=0.001) as client,
        pytest.raises(errors.InvalidInput) as info,
    ):
        client.sentiment(["x" * 2000])
    assert type(info.value) is errors.InvalidInput
    assert "request" in str(info.value) and "batch_size" in str(info.value)
    assert scripted_server.calls == []  # never sent, and not retried as an overload


def test_an_oversized_answer_is_invalid_input_not_overload(
    scripted_server: ScriptedServer,
) -> None:
    options = [("grpc.max_receive_message_length", 1024)]
    with (
        Client(scripted_server.target, options=options, backoff=0.001) as client,
        pytest.raises(errors.InvalidInput) as info,
    ):
        client.sentiment(["x" * 2000])  # echoed back as a 2000-character label
    assert "answer" in str(info.value) and "batch_size" in str(info.value)
    assert len(scripted_server.calls) == 1


def test_a_bare_rpc_error_is_still_converted() -> None:
    """gRPC's own base class, carrying no status at all (no Call methods)."""
    error = from_rpc_error(grpc.RpcError(), target="h:1", method="Sentiment", timeout=60.0)
    assert type(error) is errors.TextlensError
    assert "h:1" in str(error)


# --- retry policy (pure) ---------------------------------------------------------


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
