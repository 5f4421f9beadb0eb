"""Every front answers a failure the same way (transport/answers.py)."""

from __future__ import annotations

import grpc

from textlens.contract.errors import Overloaded, UnknownModel
from textlens.server.transport.answers import refusal


def test_a_textlens_error_keeps_its_status_and_names_its_class() -> None:
    answer = refusal("Sentiment", UnknownModel("no model named 'x'; served: a, b"))
    assert answer.code is grpc.StatusCode.INVALID_ARGUMENT
    assert answer.trailers == (("textlens-error", "UnknownModel"),)
    assert answer.outcome == "INVALID_ARGUMENT"
    assert refusal("Embed", Overloaded("queue full")).code is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_server_paths_are_cut_from_the_message() -> None:
    answer = refusal("Sentiment", UnknownModel("cannot read /srv/secret/models/finbert/x.json"))
    assert "/srv/secret" not in answer.message and "x.json" in answer.message


def test_anything_else_is_internal_and_says_it_is_a_bug() -> None:
    answer = refusal("Classify", RuntimeError("list index out of range"))
    assert answer.code is grpc.StatusCode.INTERNAL and answer.trailers == ()
    assert "Classify failed inside the server: RuntimeError" in answer.message
    assert "textlens bug" in answer.message
