"""Each role reads its own certificate variables (issue 22, item 18).

`TEXTLENS_TLS_CERT`/`_KEY` used to be the client's certificate to a client and
the server's to `textlens serve` (pydantic's TEXTLENS_ prefix on `tls_cert`),
so a shell set up for an mTLS client started a server with the client's
certificate, and even overrode the config file's. Now the server reads
`TEXTLENS_SERVER_TLS_*`, clients `TEXTLENS_CLIENT_TLS_*`; the shared names
still work where unambiguous, with a DeprecationWarning.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from textlens.client import Client
from textlens.client.tls import tls_from_env
from textlens.server.settings import ServerSettings, load_settings

ALL = (
    "TEXTLENS_TLS_CERT", "TEXTLENS_TLS_KEY", "TEXTLENS_TLS_CA", "TEXTLENS_TLS_SERVER_NAME",
    "TEXTLENS_TLS", "TEXTLENS_TLS_CLIENT_CA", "TEXTLENS_SERVER_TLS_CERT",
    "TEXTLENS_SERVER_TLS_KEY", "TEXTLENS_CLIENT_TLS_CERT", "TEXTLENS_CLIENT_TLS_KEY",
    "TEXTLENS_CONFIG",
)  # fmt: skip


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ALL:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def client_shell(env: pytest.MonkeyPatch, pki: dict[str, Path]) -> None:
    """What an mTLS client's shell held under the old names."""
    env.setenv("TEXTLENS_TLS_CA", str(pki["ca"]))
    env.setenv("TEXTLENS_TLS_CERT", str(pki["client_cert"]))
    env.setenv("TEXTLENS_TLS_KEY", str(pki["client_key"]))


def test_a_client_shell_does_not_configure_the_server(
    env: pytest.MonkeyPatch, pki: dict[str, Path]
) -> None:
    client_shell(env, pki)
    with pytest.warns(DeprecationWarning, match="ignored by the server"):
        settings = ServerSettings(models=[])
    assert settings.tls_cert is None and settings.tls == "plaintext"
    with pytest.warns(DeprecationWarning, match="TEXTLENS_CLIENT_TLS_CERT"):
        client = tls_from_env()  # the client still reads them (deprecated, unambiguous)
    assert client is not None and client.cert == str(pki["client_cert"])


def test_the_config_file_wins_over_the_shared_names(
    env: pytest.MonkeyPatch, pki: dict[str, Path], tmp_path: Path
) -> None:
    config = tmp_path / "textlens.toml"
    config.write_text(
        f'[server]\ntls_cert = "{pki["server_cert"]}"\ntls_key = "{pki["server_key"]}"\n'
        "models = []\n",
        encoding="utf-8",
    )
    env.setenv("TEXTLENS_TLS_CERT", str(pki["client_cert"]))
    env.setenv("TEXTLENS_TLS_KEY", str(pki["client_key"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert load_settings(config).tls_cert == pki["server_cert"]
    env.setenv("TEXTLENS_SERVER_TLS_CERT", str(pki["wrong_server_cert"]))
    env.setenv("TEXTLENS_SERVER_TLS_KEY", str(pki["wrong_server_key"]))
    assert load_settings(config).tls_cert == pki["wrong_server_cert"]  # its own names win


def test_each_role_its_own_names_and_the_old_ones_deprecated(
    env: pytest.MonkeyPatch, pki: dict[str, Path]
) -> None:
    env.setenv("TEXTLENS_SERVER_TLS_CERT", str(pki["server_cert"]))
    env.setenv("TEXTLENS_SERVER_TLS_KEY", str(pki["server_key"]))
    env.setenv("TEXTLENS_CLIENT_TLS_CERT", str(pki["client_cert"]))
    env.setenv("TEXTLENS_CLIENT_TLS_KEY", str(pki["client_key"]))
    env.setenv("TEXTLENS_TLS_CERT", str(pki["wrong_client_cert"]))  # never mixed in
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        settings = ServerSettings(models=[])
        tls = tls_from_env()
    assert (settings.tls_cert, settings.tls_key) == (pki["server_cert"], pki["server_key"])
    assert tls is not None and (tls.cert, tls.key) == (
        str(pki["client_cert"]),
        str(pki["client_key"]),
    )
    for name in ALL:
        env.delenv(name, raising=False)
    env.setenv("TEXTLENS_TLS_CERT", str(pki["server_cert"]))
    env.setenv("TEXTLENS_TLS_KEY", str(pki["server_key"]))
    with pytest.warns(DeprecationWarning, match="TEXTLENS_SERVER_TLS_CERT"):
        assert ServerSettings(models=[]).tls_cert == pki["server_cert"]
    env.setenv("TEXTLENS_TLS_CLIENT_CA", str(pki["ca"]))  # a server's shell now
    with pytest.warns(DeprecationWarning, match="ignored by the client"):
        assert tls_from_env() is None


def test_one_shell_runs_an_mtls_server_and_its_client(
    env: pytest.MonkeyPatch, pki: dict[str, Path], default_served: Any
) -> None:
    from tests.helpers import rebatch
    from textlens.server.transport.inprocess import InProcessServer

    env.setenv("TEXTLENS_SERVER_TLS_CERT", str(pki["server_cert"]))
    env.setenv("TEXTLENS_SERVER_TLS_KEY", str(pki["server_key"]))
    env.setenv("TEXTLENS_TLS_CLIENT_CA", str(pki["ca"]))
    env.setenv("TEXTLENS_TLS_CA", str(pki["ca"]))
    env.setenv("TEXTLENS_CLIENT_TLS_CERT", str(pki["client_cert"]))
    env.setenv("TEXTLENS_CLIENT_TLS_KEY", str(pki["client_key"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        with InProcessServer(rebatch(default_served)) as server:
            assert server.settings.tls == "mTLS"
            with Client(server.target, retries=0, timeout=30) as client:
                (result,) = client.sentiment(["I love this phone"])
    assert result is not None and result.label == "positive"
