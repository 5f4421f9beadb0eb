"""Issue 12 finding 1 (tokens): with `read_tokens`, every data RPC needs one; roles hold."""

from __future__ import annotations

from typing import Any

import duckdb
import grpc
import pytest

from textlens.client import AsyncClient, Client
from textlens.client.errors import TextlensError
from textlens.connectors.duckdb import register
from textlens.v1 import textlens_pb2 as pb
from textlens.v1 import textlens_pb2_grpc as pb_grpc

READ, ADMIN = "reader-7f3a", "operator-91c2"


@pytest.fixture(scope="module")
def server(default_served: Any) -> Any:
    from textlens.server.runtime.embedded import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    with InProcessServer(rebatch(default_served), read_tokens=[READ], admin_token=ADMIN) as srv:
        yield srv


def code_of(target: str, metadata: tuple[tuple[str, str], ...] = ()) -> grpc.StatusCode:
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.TextAnalysisStub(channel)
        try:
            stub.ListModels(pb.ListModelsRequest(), metadata=metadata, timeout=30)
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def test_data_rpcs_need_a_known_token(server: Any) -> None:
    assert code_of(server.target) == grpc.StatusCode.UNAUTHENTICATED
    wrong = (("authorization", "Bearer nope"),)
    assert code_of(server.target, wrong) == grpc.StatusCode.UNAUTHENTICATED
    for token in (READ, ADMIN):  # the operator may read too
        assert code_of(server.target, (("authorization", f"Bearer {token}"),)) == grpc.StatusCode.OK
    with (
        Client(server.target, retries=0) as anonymous,
        pytest.raises(TextlensError, match="needs a token"),
    ):
        anonymous.sentiment(["hello"])


def test_clients_and_duckdb_send_the_token(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with Client(server.target, token=READ, retries=0) as c:
        (result,) = c.sentiment(["great product"])
        assert result is not None and result.label == "positive"

    async def run() -> Any:
        async with AsyncClient(server.target, token=READ, retries=0) as ac:
            return await ac.entities(["Angela Merkel visited Berlin"])

    import asyncio

    (spans,) = asyncio.run(run())
    assert spans is not None and any(e.text == "Berlin" for e in spans)
    con = duckdb.connect()
    with register(con, server.target, token=READ):
        assert con.execute("SELECT sentiment('awful, broke in a day')").fetchone() == ("negative",)
    monkeypatch.setenv("TEXTLENS_TOKEN", READ)  # the environment is the default
    with register(con, server.target):
        assert con.execute("SELECT sentiment('I love it')").fetchone() == ("positive",)


def test_a_read_token_cannot_reload(server: Any) -> None:
    with (
        Client(server.target, token=READ, retries=0) as c,
        pytest.raises(TextlensError, match="may only read"),
    ):
        c.reload_models(token=READ)
