"""Who may call what: the tokens a server accepts, by role, kept only as SHA-256 digests.

Two roles: `read` (data RPCs, ListModels and, unless opened, health and
reflection) and `admin` (ReloadModels; an admin token reads too). Tokens come
from the settings (`admin_token`, `read_tokens`) and from a token file of
digests (`token_file`, written by `textlens token new`), so a leaked config or
file need not leak a usable token. A presented token is hashed once and
compared with every known digest in constant time, without stopping at a
match, so timing tells nothing about which token (or how much of one) matched.
Each token has an identity (the file's name column, `admin`, `read-1`...):
the access log shows it, never the token.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from textlens.contract.errors import PermissionDenied, Unauthenticated
from textlens.server.token_file import Identity, digest, read_token_file

#: Call metadata carrying a token: `authorization: Bearer <token>`.
AUTH_METADATA = "authorization"
#: Identity of a call made without a token on a server that needs none.
ANONYMOUS = "-"


def bearer_token(context: Any) -> str:
    """The token of `authorization: Bearer <token>` call metadata, or ''."""
    return bearer_from_metadata(context.invocation_metadata() or ())


def bearer_from_metadata(metadata: Iterable[tuple[str, Any]]) -> str:
    sent = ""
    for key, value in metadata:
        if key == AUTH_METADATA:
            sent = value.decode() if isinstance(value, bytes) else str(value)
    scheme, _, token = sent.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class TokenTable:
    """Every token this server accepts, as digests with their identities."""

    def __init__(self, entries: Sequence[tuple[bytes, Identity]] = ()) -> None:
        self.entries = list(entries)

    @classmethod
    def create(
        cls, admin_token: str = "", read_tokens: Sequence[str] = (), token_file: Path | None = None
    ) -> TokenTable:
        entries = [(digest(admin_token), Identity("admin", "admin"))] if admin_token else []
        entries += [
            (digest(token), Identity(f"read-{i}", "read"))
            for i, token in enumerate((t for t in read_tokens if t), start=1)
        ]
        if token_file is not None:
            entries += read_token_file(token_file)
        return cls(entries)

    @property
    def reads_need_token(self) -> bool:
        """Whether data RPCs are closed: any read token (config or file) makes them so."""
        return any(identity.role == "read" for _, identity in self.entries)

    @property
    def admin_enabled(self) -> bool:
        return any(identity.role == "admin" for _, identity in self.entries)

    def identify(self, token: str) -> Identity | None:
        """The identity of `token`, comparing it with every digest in constant time."""
        sent = digest(token)
        found: Identity | None = None
        for known, identity in self.entries:
            if hmac.compare_digest(sent, known) and found is None:
                found = identity
        return found

    def identity_of(self, metadata: Iterable[tuple[str, Any]]) -> Identity | None:
        """Whose known token the call carries, if any (for the log; checks nothing)."""
        token = bearer_from_metadata(metadata)
        return self.identify(token) if token else None

    def check_reader(self, metadata: Iterable[tuple[str, Any]], method: str) -> Identity | None:
        """With read tokens configured, `method` needs one of them (or an admin token)."""
        if not self.reads_need_token:
            return None
        token = bearer_from_metadata(metadata)
        if not token:
            raise Unauthenticated(
                f"{method} needs a token: this server requires call metadata "
                f"'{AUTH_METADATA}: Bearer <token>' (Client(token=...), register(con, target, "
                "token=...) or $TEXTLENS_TOKEN)"
            )
        identity = self.identify(token)
        if identity is None:
            raise Unauthenticated(f"{method}: the token is not one this server accepts")
        return identity

    def check_operator(self, metadata: Iterable[tuple[str, Any]], method: str) -> Identity:
        """Let an admin RPC through only with an admin token.

        PERMISSION_DENIED while admin RPCs are disabled (no admin token), so an
        unset token never means "anyone may", and for a read token;
        UNAUTHENTICATED for a missing or unknown token.
        """
        if not self.admin_enabled:
            raise PermissionDenied(
                f"{method} is disabled on this server: admin RPCs need an operator token; "
                "start the server with TEXTLENS_ADMIN_TOKEN (or [server] admin_token, or an "
                "admin line in the token_file) set"
            )
        token = bearer_from_metadata(metadata)
        if not token:
            raise Unauthenticated(
                f"{method} needs the operator token as call metadata "
                f"'{AUTH_METADATA}: Bearer <token>' (Client.reload_models(token=...) or "
                "$TEXTLENS_ADMIN_TOKEN)"
            )
        identity = self.identify(token)
        if identity is None:
            raise Unauthenticated(f"{method}: the operator token is wrong")
        if identity.role != "admin":
            raise PermissionDenied(f"{method} needs the operator token; this token may only read")
        return identity
