"""The TLS environment variables of both roles, and which pair a role reads.

Shared by the server's settings and the clients (`textlens.client.tls`): the certificate
variables name their role (issue 22, item 18), because the old shared
`TEXTLENS_TLS_CERT`/`_KEY` meant the client's certificate to a client and the server's
to `textlens serve`, so a shell set up for one configured the other. `role_tls_env`
reads the role's own pair and falls back to the shared pair only when the role's own is
unset, with a DeprecationWarning and a log line.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Literal

#: The CA (PEM) a client verifies servers with; unset: the system's roots.
CA_ENV = "TEXTLENS_TLS_CA"
#: Each role's certificate and key (PEM): a client's for mTLS, `textlens serve`'s own.
ROLE_ENV = {
    "client": ("TEXTLENS_CLIENT_TLS_CERT", "TEXTLENS_CLIENT_TLS_KEY"),
    "server": ("TEXTLENS_SERVER_TLS_CERT", "TEXTLENS_SERVER_TLS_KEY"),
}
CERT_ENV, KEY_ENV = ROLE_ENV["client"]
#: The old shared names: read by a role only when its own names are unset (deprecated).
SHARED_CERT_ENV = "TEXTLENS_TLS_CERT"
#: The old shared key name: read by a role only when its own names are unset (deprecated).
SHARED_KEY_ENV = "TEXTLENS_TLS_KEY"
#: Variables only the other role reads: beside them the shared names are ambiguous
#: (a client's shell has a CA to verify servers with; a server's, its clients' CA).
OTHER_ROLE_ENV = {
    "client": ("TEXTLENS_TLS_CLIENT_CA",),
    "server": ("TEXTLENS_TLS_CA", "TEXTLENS_TLS_SERVER_NAME", "TEXTLENS_TLS"),
}
#: The name the server's certificate must carry when the target's host is not it.
SERVER_NAME_ENV = "TEXTLENS_TLS_SERVER_NAME"
#: `true`: clients speak TLS with the system's roots (no CA file needed).
FLAG_ENV = "TEXTLENS_TLS"
_TRUE = {"1", "true", "yes", "on"}

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
