"""What a process tree listens on, from /proc (Linux): the check behind `ray serve`'s
printed address (issue 22, item 4).

Ray starts its GCS, raylet, workers, agents and Serve proxies as descendants
of the driver that starts a local cluster, so the sockets of that tree are
what the cluster exposes. No psutil: /proc/<pid>/fd links name socket inodes,
and /proc/net/tcp{,6} map inodes to listening addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
    """One listening TCP socket: the process and the address it is bound to."""

    pid: int
    process: str
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        address = ipaddress.ip_address(self.host)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return address.is_loopback

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port} ({self.process}, pid {self.pid})"


def descendants(root: int) -> set[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _decode(hex_address: str) -> tuple[str, int]:
    host_hex, port_hex = hex_address.split(":")
    raw = bytes.fromhex(host_hex)
    # /proc/net/tcp{,6} print the address as 32-bit words in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # a dual-stack socket bound to an IPv4 address
    return str(address), int(port_hex, 16)


def _listening_inodes() -> dict[int, tuple[str, int]]:
    inodes: dict[int, tuple[str, int]] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == LISTEN:
                inodes[int(fields[9])] = _decode(fields[1])
    return inodes


def _name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return "?"


def listeners(pids: set[int]) -> list[Listener]:
    """The listening TCP sockets these processes hold (those /proc lets us read)."""
    inodes = _listening_inodes()
    found: set[Listener] = set()
    for pid in pids:
        try:
            fds = list((PROC / str(pid) / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                link = fd.readlink().as_posix()
            except OSError:
                continue
            if link.startswith("socket:["):
                inode = int(link[8:-1])
                if inode in inodes:
                    host, port = inodes[inode]
                    found.add(Listener(pid, _name(pid), host, port))
    return sorted(found, key=lambda x: (x.port, x.pid, x.host))
