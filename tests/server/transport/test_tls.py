"""TLS and mTLS from every Python surface, with a CA made at test time (`pki` fixture).

Refusals are the point: a plaintext client, a client that trusts another CA,
and (mTLS) a client without a certificate or with one from another CA must
all fail, clearly, while the right credentials work from the sync and asyncio
clients, a DuckDB registration and a `duckdb+textlens` URL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import duckdb
import pytest

from textlens.client import TLS, AsyncClient, Client
from textlens.client.errors import ServerUnavailable
from textlens.connectors.duckdb import register

TOKEN = "tls-reader-5d1e"


@pytest.fixture(scope="module")
def tls_server(default_served: Any, pki: dict[str, Path]) -> Any:
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    with InProcessServer(
        rebatch(default_served),
        tls_cert=pki["server_cert"],
        tls_key=pki["server_key"],
        read_tokens=[TOKEN],
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def mtls_server(default_served: Any, pki: dict[str, Path]) -> Any:
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    with InProcessServer(
        rebatch(default_served),
        tls_cert=pki["server_cert"],
        tls_key=pki["server_key"],
        tls_client_ca=pki["ca"],
    ) as srv:
        yield srv


def sentiment(target: str, **kwargs: Any) -> str:
    with Client(target, retries=0, timeout=20, **kwargs) as client:
        (result,) = client.sentiment(["I love this phone"])
        assert result is not None
        return result.label


def test_tls_clients_verify_the_server(tls_server: Any, pki: dict[str, Path]) -> None:
    assert sentiment(tls_server.target, tls=str(pki["ca"]), token=TOKEN) == "positive"
    assert sentiment(tls_server.target, tls=TLS(ca=str(pki["ca"])), token=TOKEN) == "positive"

    async def run() -> Any:
        async with AsyncClient(tls_server.target, tls=str(pki["ca"]), token=TOKEN) as client:
            return await client.entities(["Angela Merkel visited Berlin"])

    (spans,) = asyncio.run(run())
    assert spans is not None and any(e.text == "Berlin" for e in spans)


def test_tls_refuses_plaintext_and_the_wrong_ca(tls_server: Any, pki: dict[str, Path]) -> None:
    with pytest.raises(ServerUnavailable, match="unavailable"):
        sentiment(tls_server.target, token=TOKEN, tls=False)
    with pytest.raises(ServerUnavailable, match="TLS handshake failed"):
        sentiment(tls_server.target, token=TOKEN, tls=str(pki["wrong_ca"]))


def test_tls_from_the_environment(
    tls_server: Any, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTLENS_TLS_CA", str(pki["ca"]))
    monkeypatch.setenv("TEXTLENS_TOKEN", TOKEN)
    assert sentiment(tls_server.target) == "positive"
    con = duckdb.connect()
    with register(con, tls_server.target):
        assert con.execute("SELECT sentiment('awful, broke in a day')").fetchone() == ("negative",)


def test_duckdb_register_over_tls_with_a_token(tls_server: Any, pki: dict[str, Path]) -> None:
    con = duckdb.connect()
    with register(con, tls_server.target, tls_ca=pki["ca"], token=TOKEN):
        assert con.execute("SELECT sentiment('I love it')").fetchone() == ("positive",)
    with pytest.raises(Exception, match="TLS handshake failed"):
        register(con, tls_server.target, tls_ca=pki["wrong_ca"], token=TOKEN)


def test_sqlalchemy_url_carries_tls_and_the_token(
    tls_server: Any, pki: dict[str, Path], tmp_path: Path
) -> None:
    from sqlalchemy import create_engine, text

    from textlens.connectors.sqlalchemy.dialect import close_all

    base = f"duckdb+textlens:///{tmp_path / 'w.duckdb'}?textlens_target={tls_server.target}"
    with_ca = f"{base}&textlens_tls_ca={pki['ca']}"
    try:
        for url in (
            f"{with_ca}&textlens_token={TOKEN}",
            # The token as the password, as Superset stores it (encrypted, masked).
            with_ca.replace("duckdb+textlens:///", f"duckdb+textlens://:{TOKEN}@/", 1),
        ):
            engine = create_engine(url)
            with engine.connect() as conn:
                label = conn.execute(text("SELECT sentiment('great value')")).scalar()
            engine.dispose()
            assert label == "positive"
            close_all()
        engine = create_engine(f"{base}&textlens_tls_ca={pki['wrong_ca']}&textlens_token={TOKEN}")
        with pytest.raises(Exception, match="TLS handshake failed"), engine.connect():
            pass
        engine.dispose()
    finally:
        close_all()


def test_mtls_needs_a_client_certificate_from_its_ca(
    mtls_server: Any, pki: dict[str, Path]
) -> None:
    ca = str(pki["ca"])
    good = TLS(ca=ca, cert=str(pki["client_cert"]), key=str(pki["client_key"]))
    assert sentiment(mtls_server.target, tls=good) == "positive"
    con = duckdb.connect()
    with register(con, mtls_server.target, tls=good):
        assert con.execute("SELECT sentiment('I love it')").fetchone() == ("positive",)

    async def run() -> Any:
        async with AsyncClient(mtls_server.target, tls=good) as client:
            return await client.sentiment(["awful, broke in a day"])

    (result,) = asyncio.run(run())
    assert result is not None and result.label == "negative"
    from sqlalchemy import create_engine, text

    from textlens.connectors.sqlalchemy.dialect import close_all

    engine = create_engine(
        f"duckdb+textlens:///:memory:?textlens_target={mtls_server.target}"
        f"&textlens_tls_ca={ca}&textlens_tls_cert={pki['client_cert']}"
        f"&textlens_tls_key={pki['client_key']}"
    )
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT sentiment('great value')")).scalar() == "positive"
    finally:
        engine.dispose()
        close_all()
    stranger = TLS(ca=ca, cert=str(pki["wrong_client_cert"]), key=str(pki["wrong_client_key"]))
    for refused in (TLS(ca=ca), stranger):
        with pytest.raises(ServerUnavailable, match="unavailable"):
            sentiment(mtls_server.target, tls=refused)


def test_bad_tls_settings_are_refused_clearly(pki: dict[str, Path], tmp_path: Path) -> None:
    from pydantic import ValidationError

    from textlens.server.settings import ServerSettings

    with pytest.raises(ValidationError, match="tls_cert and tls_key go together"):
        ServerSettings(tls_cert=pki["server_cert"])
    with pytest.raises(ValidationError, match="needs tls_cert"):
        ServerSettings(tls_client_ca=pki["ca"])
    with pytest.raises(ValidationError, match="is not a file"):
        ServerSettings(tls_cert=tmp_path / "nope.pem", tls_key=pki["server_key"])
    with pytest.raises(ValueError, match="cannot read the TLS CA file"):
        Client("127.0.0.1:1", tls=str(tmp_path / "missing-ca.pem"))
    with pytest.raises(ValueError, match="both cert and key"):
        TLS(cert=str(pki["client_cert"]))
    with pytest.raises(ValueError, match="not both"):
        register(duckdb.connect(), "127.0.0.1:1", tls=True, tls_ca=pki["ca"])
