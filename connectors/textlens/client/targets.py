"""Where a client sends its calls: one server, or several replicas with round-robin.

A target is `host:port`, a gRPC URI (`dns:///name:port`, `ipv4:a:p,b:p`,
`unix:/path`), or several servers: a list or a comma-separated string of
`host:port`. Several servers become one `ipv4:`/`ipv6:` address list (names
resolved once, here) so gRPC's own `round_robin` policy spreads calls over
them, skips one that is down and reconnects to it when it is back; a `dns:`
target is balanced over every address the name has. One channel either way,
so every feature of a single-server client (retries, deadlines, tokens, TLS)
holds unchanged.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Sequence
from typing import Any

from textlens.contract.limits import DEFAULT_TARGET, TARGET_ENV

#: gRPC URI schemes a target may already carry.
SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:", "vsock:")
ROUND_ROBIN = ("grpc.lb_policy_name", "round_robin")


def _split_host_port(item: str) -> tuple[str, str]:
    if item.startswith("["):  # [::1]:50051
        host, _, rest = item[1:].partition("]")
        return host, rest.removeprefix(":")
    host, sep, port = item.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"target {item!r} is not host:port")
    return host, port


def _addresses(host: str, port: str) -> list[tuple[int, str]]:
    """(4 or 6, 'addr:port') for a literal address, or every address a name resolves to."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ValueError(f"cannot resolve {host!r} of the targets: {exc}") from None
        found = []
        for family, *_, sockaddr in infos:
            version = 6 if family == socket.AF_INET6 else 4
            addr = f"[{sockaddr[0]}]:{port}" if version == 6 else f"{sockaddr[0]}:{port}"
            if (version, addr) not in found:
                found.append((version, addr))
        return found
    return [(ip.version, f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}")]


def join_targets(items: Sequence[str]) -> str:
    """One gRPC target for several `host:port`: an ipv4: (or ipv6:) address list."""
    found: list[tuple[int, str]] = []
    for item in items:
        for entry in _addresses(*_split_host_port(item.strip())):
            if entry not in found:
                found.append(entry)
    v4 = [a for v, a in found if v == 4]
    v6 = [a for v, a in found if v == 6]
    if v4 and v6:
        v6 = []  # one address family per gRPC address list; IPv4 where both exist
    return f"ipv4:{','.join(v4)}" if v4 else f"ipv6:{','.join(v6)}"


def resolve_target(target: str | Sequence[str] | None = None) -> str:
    """The gRPC target: `target` (one, several, or a URI), else $TEXTLENS_TARGET (the same
    forms, comma-separated for several), else 127.0.0.1:50051."""
    if target is not None and not isinstance(target, str):
        if not (isinstance(target, Sequence) and all(isinstance(t, str) for t in target)):
            raise ValueError(f"target must be 'host:port' or a list of them, got {target!r}")
        items = [t.strip() for t in target if t.strip()]
        if not items:
            raise ValueError("target is an empty list; give at least one 'host:port'")
        return items[0] if len(items) == 1 else join_targets(items)
    text = (target or "").strip() or os.environ.get(TARGET_ENV, "").strip() or DEFAULT_TARGET
    if text.startswith(SCHEMES):
        return text
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items[0] if len(items) == 1 else join_targets(items)


def address_count(target: str) -> int:
    """How many servers a resolved target names (a `dns:` name counts as one)."""
    if target.startswith(("ipv4:", "ipv6:")):
        return len(target.split(":", 1)[1].split(","))
    return 1


def balancing_options(target: str) -> list[tuple[str, Any]]:
    """round_robin where the target names several servers, or a name that may have several."""
    return [ROUND_ROBIN] if address_count(target) > 1 or target.startswith("dns:") else []
