"""TLS for the clients: `Client(target, tls=...)`, the DuckDB connector and the dialect.

One description of a secure channel (`TLS`) that every surface accepts, so a
CA file, a client certificate for mTLS and a name override are spelled the
same way in Python, in `register(...)` and in a `duckdb+textlens` URL. With
no argument the environment decides (`TEXTLENS_TLS_CA`,
`TEXTLENS_CLIENT_TLS_CERT`, `TEXTLENS_CLIENT_TLS_KEY`,
`TEXTLENS_TLS_SERVER_NAME`, or `TEXTLENS_TLS=true` for the system's roots),
as `TEXTLENS_TARGET` and `TEXTLENS_TOKEN` do.

The variable names and `role_tls_env` live in `textlens.contract.tls_env`, which the
server's settings read too; they are re-exported here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import grpc

from textlens.contract.tls_env import (
    _TRUE,
    _env,
)
from textlens.contract.tls_env import (
    CA_ENV as CA_ENV,
)
from textlens.contract.tls_env import (
    CERT_ENV as CERT_ENV,
)
from textlens.contract.tls_env import (
    FLAG_ENV as FLAG_ENV,
)
from textlens.contract.tls_env import (
    KEY_ENV as KEY_ENV,
)
from textlens.contract.tls_env import (
    OTHER_ROLE_ENV as OTHER_ROLE_ENV,
)
from textlens.contract.tls_env import (
    ROLE_ENV as ROLE_ENV,
)
from textlens.contract.tls_env import (
    SERVER_NAME_ENV as SERVER_NAME_ENV,
)
from textlens.contract.tls_env import (
    SHARED_CERT_ENV as SHARED_CERT_ENV,
)
from textlens.contract.tls_env import (
    SHARED_KEY_ENV as SHARED_KEY_ENV,
)
from textlens.contract.tls_env import (
    role_tls_env as role_tls_env,
)

ChannelOption = tuple[str, Any]


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read the TLS {what} {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class TLS:
    """A TLS channel: verify the server with `ca` (PEM; None: the system's roots).

    `cert` and `key` (PEM) are this client's certificate for a server that
    requires one (mTLS). `server_name` is the name the server's certificate
    must carry when the target's host is not it (an IP address, a tunnel).
    """

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("a TLS client certificate needs both cert and key (PEM files)")

    def credentials(self) -> grpc.ChannelCredentials:
        """The channel credentials; files are read now, so a bad path fails here, clearly."""
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca, "CA file") if self.ca else None,
            private_key=_read(self.key, "client key") if self.key else None,
            certificate_chain=_read(self.cert, "client certificate") if self.cert else None,
        )

    def options(self) -> list[ChannelOption]:
        if not self.server_name:
            return []
        return [("grpc.ssl_target_name_override", self.server_name)]


#: What `tls=` accepts: a TLS, True (system roots, or the env's files), a CA file path,
#: False (plaintext whatever the env says) or None (the env decides).
TLSArg = Union[TLS, bool, str, "os.PathLike[str]", None]


def tls_from_env() -> TLS | None:
    ca = _env(CA_ENV)
    cert, key = role_tls_env("client")
    name = os.environ.get(SERVER_NAME_ENV, "").strip() or None
    flag = os.environ.get(FLAG_ENV, "").strip().lower() in _TRUE
    if ca is None and cert is None and key is None and not flag:
        return None
    return TLS(ca=ca, cert=cert, key=key, server_name=name)


def resolve_tls(tls: TLSArg) -> TLS | None:
    """The TLS to use for `tls=` (see TLSArg); None means plaintext."""
    if tls is False:
        return None
    if isinstance(tls, TLS):
        return tls
    if tls is True:
        return tls_from_env() or TLS()
    if isinstance(tls, str | os.PathLike):
        env = tls_from_env() or TLS()
        return TLS(ca=os.fspath(tls), cert=env.cert, key=env.key, server_name=env.server_name)
    if tls is None:
        return tls_from_env()
    raise ValueError(f"tls must be a TLS, a CA file path, True, False or None; got {tls!r}")


def channel_security(
    tls: TLSArg, credentials: grpc.ChannelCredentials | None
) -> tuple[grpc.ChannelCredentials | None, list[ChannelOption]]:
    """(credentials, channel options) from a client's `tls=` and `credentials=` arguments."""
    if credentials is not None:
        if tls is not None and tls is not False:
            raise ValueError("give tls=... or credentials=..., not both")
        return credentials, []
    resolved = resolve_tls(tls)
    if resolved is None:
        return None, []
    return resolved.credentials(), resolved.options()
