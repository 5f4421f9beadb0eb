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
    from tests.helpers import rebatch
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


def health_code(target: str, metadata: tuple[tuple[str, str], ...] = ()) -> grpc.StatusCode:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        try:
            health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), metadata=metadata, timeout=30
            )
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def reflection_code(target: str, metadata: tuple[tuple[str, str], ...] = ()) -> grpc.StatusCode:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        try:
            for _ in stub.ServerReflectionInfo(iter([request]), metadata=metadata, timeout=30):
                pass
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def test_health_and_reflection_need_a_token_unless_opened(server: Any, default_served: Any) -> None:
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    bearer = (("authorization", f"Bearer {READ}"),)
    assert health_code(server.target) == grpc.StatusCode.UNAUTHENTICATED
    assert reflection_code(server.target) == grpc.StatusCode.UNAUTHENTICATED
    assert health_code(server.target, bearer) == grpc.StatusCode.OK
    assert reflection_code(server.target, bearer) == grpc.StatusCode.OK
    with Client(server.target, token=READ, retries=0) as c:
        assert c.health()  # the client's own health call carries its token
    with InProcessServer(
        rebatch(default_served), read_tokens=[READ], open_health=True, open_reflection=True
    ) as opened:
        assert health_code(opened.target) == grpc.StatusCode.OK
        assert reflection_code(opened.target) == grpc.StatusCode.OK
        assert code_of(opened.target) == grpc.StatusCode.UNAUTHENTICATED  # data stays closed


def test_token_file_of_digests_with_identities_in_the_access_log(
    default_served: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from tests.helpers import rebatch
    from textlens.server.token_file import new_token_line
    from textlens.server.transport.inprocess import InProcessServer

    reader, reader_line = new_token_line("read", "dashboards")
    admin, admin_line = new_token_line("admin", "ops")
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"# textlens tokens\n{reader_line}\n{admin_line}  # on call\n")
    assert reader not in tokens.read_text() and admin not in tokens.read_text()
    caplog.set_level(logging.INFO, logger="textlens.access")
    with InProcessServer(rebatch(default_served), token_file=tokens, access_log=1.0) as srv:
        assert code_of(srv.target) == grpc.StatusCode.UNAUTHENTICATED
        with Client(srv.target, token=reader, retries=0) as c:
            (result,) = c.sentiment(["I love it"])
            assert result is not None and result.label == "positive"
            with pytest.raises(TextlensError, match="may only read"):
                c.reload_models(token=reader)
        with Client(srv.target, token=admin, retries=0) as c:
            assert c.list_models()
    lines = [r for r in caplog.records if r.name == "textlens.access"]
    fields = [r.access for r in lines]  # type: ignore[attr-defined]
    ok = [f for f in fields if f["method"] == "Sentiment"]
    assert ok and ok[0]["identity"] == "dashboards" and ok[0]["status"] == "OK"
    assert ok[0]["texts"] == 1 and ok[0]["model"] == "sentiment-minilm"
    assert ok[0]["peer"].startswith("ipv4:127.0.0.1:") and ok[0]["ms"] > 0
    assert {"method": "ListModels", "identity": "ops", "status": "OK"}.items() <= fields[-1].items()
    assert any(f["status"] == "UNAUTHENTICATED" and f["identity"] == "-" for f in fields)
    denied = [f for f in fields if f["method"] == "ReloadModels"]
    assert denied == [denied[0]] and denied[0]["status"] == "PERMISSION_DENIED"
    assert denied[0]["identity"] == "dashboards"
    text = "\n".join(r.getMessage() for r in lines)
    assert reader not in text and admin not in text
    assert "identity=dashboards" in text


def test_access_log_samples_successes_and_keeps_every_failure() -> None:
    from textlens.server.transport.access_log import AccessLog

    log = AccessLog(0.25)
    picked = [log._sampled(failed=False) for _ in range(400)]
    assert sum(picked) == 100  # exactly one in four, deterministically
    assert all(log._sampled(failed=True) for _ in range(10))
    assert not any(AccessLog(0.0)._sampled(failed=True) for _ in range(10))


def test_malformed_token_file_is_refused_with_its_line(tmp_path: Any) -> None:
    from pydantic import ValidationError

    from textlens.server.settings import ServerSettings

    bad = tmp_path / "tokens.txt"
    bad.write_text("# ok\nsha256:abc read someone\n")
    with pytest.raises(ValidationError, match=r"tokens.txt:2: expected 'sha256:<64 hex"):
        ServerSettings(token_file=bad)


def test_token_cli_appends_a_line_the_server_accepts(tmp_path: Any) -> None:
    import contextlib
    import io

    from textlens.cli import main
    from textlens.server.transport.auth import TokenTable

    file = tmp_path / "tokens.txt"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["token", "new", "--role", "admin", "--name", "ops", "--file", str(file)]) == 0
        assert main(["token", "new", "--name", "ops", "--file", str(file)]) == 2  # name taken
    token = out.getvalue().strip()
    assert token and token not in file.read_text()
    assert (file.stat().st_mode & 0o777) == 0o600
    identity = TokenTable.create(token_file=file).identify(token)
    assert identity is not None and (identity.name, identity.role) == ("ops", "admin")
