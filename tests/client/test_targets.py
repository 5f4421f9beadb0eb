"""Targets: one server, several (round-robin), gRPC URIs, and the environment."""

from __future__ import annotations

import pytest

from textlens.client.targets import address_count, balancing_options, resolve_target


def test_one_server_stays_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEXTLENS_TARGET", raising=False)
    assert resolve_target("models.internal:50051") == "models.internal:50051"
    assert resolve_target(None) == "127.0.0.1:50051"
    assert resolve_target(["10.0.0.1:50051"]) == "10.0.0.1:50051"
    assert balancing_options("models.internal:50051") == []


def test_several_servers_become_one_balanced_address_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    joined = resolve_target(["127.0.0.1:5001", "127.0.0.1:5002"])
    assert joined == "ipv4:127.0.0.1:5001,127.0.0.1:5002"
    assert address_count(joined) == 2
    assert balancing_options(joined) == [("grpc.lb_policy_name", "round_robin")]
    assert resolve_target("127.0.0.1:5001, localhost:5002").startswith("ipv4:127.0.0.1:5001,")
    assert resolve_target(["[::1]:5001", "[::1]:5002"]) == "ipv6:[::1]:5001,[::1]:5002"
    monkeypatch.setenv("TEXTLENS_TARGET", "127.0.0.1:7001,127.0.0.1:7002")
    assert resolve_target() == "ipv4:127.0.0.1:7001,127.0.0.1:7002"


def test_uris_pass_through_and_dns_is_balanced() -> None:
    assert resolve_target("dns:///textlens.svc:50051") == "dns:///textlens.svc:50051"
    assert balancing_options("dns:///textlens.svc:50051") == [
        ("grpc.lb_policy_name", "round_robin")
    ]
    assert resolve_target("ipv4:10.0.0.1:1,10.0.0.2:1") == "ipv4:10.0.0.1:1,10.0.0.2:1"


def test_bad_targets_are_clear() -> None:
    with pytest.raises(ValueError, match="not host:port"):
        resolve_target("127.0.0.1:1,nonsense")
    with pytest.raises(ValueError, match="empty list"):
        resolve_target([])
    with pytest.raises(ValueError, match="cannot resolve"):
        resolve_target(["no-such-host.invalid:1", "127.0.0.1:2"])
    with pytest.raises(ValueError, match="list of them"):
        resolve_target(50051)  # type: ignore[arg-type]
