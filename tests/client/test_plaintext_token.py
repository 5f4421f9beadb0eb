"""A token sent in the clear to another machine is warned about (issue 22, item 11).

gRPC channels connect lazily, so constructing a client for 10.255.255.1
(unroutable TEST-NET-ish address) sends nothing: no call is made here to a
non-loopback target. Loopback, TLS and token-less clients stay silent.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from textlens.client import Client
from textlens.client.channel import PlaintextTokenWarning, is_loopback_target

FAR = "10.255.255.1:1"


def constructed(target: str, **kwargs: object) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        Client(target, **kwargs).close()  # type: ignore[arg-type]
    return [w for w in seen if issubclass(w.category, PlaintextTokenWarning)]


@pytest.mark.parametrize(
    "target", ["127.0.0.1:50051", "localhost:1", "[::1]:1", "ipv4:127.0.0.1:1,127.0.0.2:2"]
)
def test_a_token_to_loopback_is_not_warned(target: str) -> None:
    assert constructed(target, token="t0k3n") == []


@pytest.mark.parametrize(
    "target",
    [FAR, "db.example.com:50051", "dns:///textlens.svc:50051", "ipv4:127.0.0.1:1,10.0.0.2:2"],
)
def test_a_token_in_the_clear_to_another_host_is_warned(
    target: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("textlens.client.channel._warned", set())  # logged once per target
    with caplog.at_level(logging.WARNING, logger="textlens.client"):
        (warning,) = constructed(target, token="t0k3n")
    text = str(warning.message)
    assert "plaintext" in text and "TLS" in text and "t0k3n" not in text
    assert warning.filename == __file__  # points at the caller, not at textlens
    assert [r for r in caplog.records if "plaintext" in r.getMessage()]


def test_the_environment_token_counts_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTLENS_TOKEN", "from-env")
    assert len(constructed(FAR)) == 1


def test_no_token_or_tls_is_not_warned(
    pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEXTLENS_TOKEN", raising=False)
    assert constructed(FAR) == []
    assert constructed(FAR, token="t0k3n", tls=str(pki["ca"])) == []


def test_register_warns_through_its_remote_backend() -> None:
    pytest.importorskip("duckdb")
    from textlens.connectors.duckdb.register import choose_backend

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        backend = choose_backend(FAR, "remote", None, 5.0, token="t0k3n")  # what register() does
        backend.close()
    assert any(issubclass(w.category, PlaintextTokenWarning) for w in seen)


def test_loopback_targets() -> None:
    assert is_loopback_target("unix:/tmp/textlens.sock")
    assert not is_loopback_target("127.0.0.1.nip.io:1")
