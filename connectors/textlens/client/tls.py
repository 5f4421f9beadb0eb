"""TLS for the clients: `Client(target, tls=...)`, the DuckDB connector and the dialect.

One description of a secure channel (`TLS`) that every surface accepts, so a
CA file, a client certificate for mTLS and a name override are spelled the
same way in Python, in `register(...)` and in a `duckdb+textlens` URL. With
no argument the environment decides (`TEXTLENS_TLS_CA`,
`TEXTLENS_CLIENT_TLS_CERT`, `TEXTLENS_CLIENT_TLS_KEY`,
`TEXTLENS_TLS_SERVER_NAME`, or `TEXTLENS_TLS=true` for the system's roots),
as `TEXTLENS_TARGET` and `TEXTLENS_TOKEN` do.

The certificate variables name their role (issue 22, item 18): the shared
`TEXTLENS_TLS_CERT`/`_KEY` meant the client's certificate to a client and
the server's to `textlens serve`, so a shell set up for one configured the
other. `role_tls_env` reads the role's own pair and falls back to the shared
pair only when the role's own is unset, with a DeprecationWarning and a log line.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

import grpc

CA_ENV = "TEXTLENS_TLS_CA"
#: Each role's certificate and key (PEM): a client's for mTLS, `textlens serve`'s own.
ROLE_ENV = {
    "client": ("TEXTLENS_CLIENT_TLS_CERT", "TEXTLENS_CLIENT_TLS_KEY"),
    "server": ("TEXTLENS_SERVER_TLS_CERT", "TEXTLENS_SERVER_TLS_KEY"),
}
CERT_ENV, KEY_ENV = ROLE_ENV["client"]
#: The old shared names: read by a role only when its own names are unset (deprecated).
SHARED_CERT_ENV = "TEXTLENS_TLS_CERT"
SHARED_KEY_ENV = "TEXTLENS_TLS_KEY"
#: Variables only the other role reads: beside them the shared names are ambiguous
#: (a client's shell has a CA to verify servers with; a server's, its clients' CA).
OTHER_ROLE_ENV = {
    "client": ("TEXTLENS_TLS_CLIENT_CA",),
    "server": ("TEXTLENS_TLS_CA", "TEXTLENS_TLS_SERVER_NAME", "TEXTLENS_TLS"),
}
SERVER_NAME_ENV = "TEXTLENS_TLS_SERVER_NAME"
FLAG_ENV = "TEXTLENS_TLS"
_TRUE = {"1", "true", "yes", "on"}
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


log = logging.getLogger("textlens")
_deprecation_logged: set[str] = set()


def _env(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def role_tls_env(role: Literal["client", "server"]) -> tuple[str | None, str | None]:
    """(cert, key) for `role` from the environment: its own pair, else (deprecated) the
    shared TEXTLENS_TLS_CERT/_KEY; never half of one and half of the other."""
    cert_env, key_env = ROLE_ENV[role]
    own = _env(cert_env), _env(key_env)
    if own != (None, None):
        return own
    shared = _env(SHARED_CERT_ENV), _env(SHARED_KEY_ENV)
    if shared == (None, None):
        return shared
    other = [name for name in OTHER_ROLE_ENV[role] if _env(name)]
    if other:
        message = (
            f"{SHARED_CERT_ENV}/{SHARED_KEY_ENV} are ignored by the {role}: beside "
            f"{', '.join(other)} they look like another role's certificate; set "
            f"{cert_env}/{key_env} for the {role}"
        )
        shared = (None, None)
    else:
        message = (
            f"{SHARED_CERT_ENV}/{SHARED_KEY_ENV} are read as the {role}'s certificate for "
            f"now, but they configure clients and servers alike; set {cert_env}/{key_env} "
            "instead (the shared names will go)"
        )
    warnings.warn(message, DeprecationWarning, stacklevel=3)
    if message not in _deprecation_logged:
        _deprecation_logged.add(message)
        log.warning(message)
    return shared


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
