"""What a `textlens ray serve` cluster exposes, kept small and said out loud (issue 22, item 4).

A local cluster started here:

* advertises 127.0.0.1 (`_node_ip_address`), runs no dashboard, and binds
  Serve's HTTP and gRPC proxies to `[ray] host` (default 127.0.0.1; the gRPC
  one through `loopback.py`, Ray has no option for it);
* keeps Ray's token authentication on (Ray 2.52+ turns it on for a new local
  cluster unless `RAY_AUTH_MODE` says otherwise) and its token file 0600
  (Ray writes it with the process umask, 0644 by default);
* cannot keep Ray's own processes off other interfaces: Ray 2.60's GCS,
  raylet, core workers and agents bind every interface whatever
  `_node_ip_address` says. `report` lists them from the socket table and
  warns, so the operator knows to firewall them (docs/scale-out.md,
  "Deployment checklist").

On an existing cluster the proxies are Ray's, on every node's `[::]:port`.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from textlens.server.ray_serve.loopback import ALL_INTERFACES, HOOK, HOST_ENV
from textlens.server.ray_serve.sockets import Listener, descendants, listeners

CHECKLIST = "docs/scale-out.md, 'Deployment checklist'"


def token_path() -> Path:
    """Where Ray reads its cluster token (RAY_AUTH_TOKEN_PATH, else ~/.ray/auth_token)."""
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")


def token_auth_on() -> bool:
    return os.environ.get("RAY_AUTH_MODE", "token").lower() == "token"


def secure_token_file() -> Path | None:
    """Create Ray's token file 0600 before Ray would (0644), or tighten an existing one."""
    if not token_auth_on() or os.environ.get("RAY_AUTH_TOKEN"):
        return None
    path = token_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return path
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32))
    return path


def connect_or_start(address: str | None, settings: Any) -> bool:
    """`ray.init` for `ray serve`; True when it started a local cluster (kept to loopback)."""
    import ray

    if address is None and not os.environ.get("RAY_ADDRESS"):
        try:
            ray.init(address="auto", include_dashboard=False)
            return False
        except ConnectionError:
            address = "local"
    if address != "local":
        ray.init(address=address, include_dashboard=False)
        return False
    secure_token_file()
    ray.init(
        address="local",
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        runtime_env={"worker_process_setup_hook": HOOK, "env_vars": {HOST_ENV: settings.host}},
    )
    secure_token_file()  # Ray may have written it (RAY_AUTH_TOKEN_PATH set after we looked)
    return True


def _loopback_host(host: str) -> bool:
    return host in {"127.0.0.1", "::1", "localhost"}


def _proxy_listeners(port: int, wait_s: float) -> list[Listener]:
    deadline = time.monotonic() + wait_s
    while True:
        found = [x for x in listeners(descendants(os.getpid())) if x.port == port]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def report(settings: Any, *, local: bool, wait_s: float = 15.0) -> tuple[str, list[str]]:
    """(the gRPC address clients use, warnings to print): from the socket table when the
    cluster is ours, from Ray's fixed behaviour when it is not."""
    warnings: list[str] = []
    if not local:
        warnings.append(
            f"on an existing Ray cluster Serve's gRPC proxy listens on every interface of "
            f"each proxy node ([::]:{settings.grpc_port}), in plaintext: keep it behind a "
            f"firewall or a TLS terminator ({CHECKLIST})"
        )
        return f"[::]:{settings.grpc_port} on each proxy node", warnings
    proxy = _proxy_listeners(settings.grpc_port, wait_s)
    if not proxy:
        warnings.append(
            f"could not see which address Serve's gRPC proxy (port {settings.grpc_port}) is "
            "bound to (no /proc?); check with `ss -ltnp`"
        )
        address = f"{settings.host}:{settings.grpc_port}"
    else:
        address = ", ".join(sorted({str(x).split(" (")[0] for x in proxy}))
        if _loopback_host(settings.host) and not all(x.loopback for x in proxy):
            warnings.append(
                f"Serve's gRPC proxy listens on {address}, not only on loopback: this Ray "
                f"release ignored textlens's binding; firewall port {settings.grpc_port}"
            )
    if settings.host in ALL_INTERFACES or not _loopback_host(settings.host):
        warnings.append(
            f"[ray] host = {settings.host!r}: Serve's proxies speak plaintext to the network; "
            f"put a TLS terminator in front ({CHECKLIST})"
        )
    ours = {settings.grpc_port, settings.http_port}
    exposed = [x for x in listeners(descendants(os.getpid())) if x.port not in ours]
    exposed = [x for x in exposed if not x.loopback]
    if exposed:
        auth = (
            f"they require Ray's cluster token ({token_path()}, 0600)"
            if token_auth_on()
            else "RAY_AUTH_MODE is not 'token', so ANYONE who reaches them controls the cluster"
        )
        names = sorted({x.process for x in exposed})
        warnings.append(
            f"Ray cannot bind its own processes to loopback: {len(exposed)} sockets of "
            f"{', '.join(names)} listen on other interfaces "
            f"({', '.join(str(x).split(' (')[0] for x in exposed[:6])}"
            f"{', ...' if len(exposed) > 6 else ''}); {auth}. Firewall them ({CHECKLIST})"
        )
    return address, warnings
