"""The token file: one `sha256:<hex> <role> <name>` line per token, never the token itself.

Read by the server's settings (a malformed line fails the start, with its number), by
the transport's token table and by `textlens token new`, so the format lives here,
below all three.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Role = Literal["read", "admin"]
ROLES: tuple[Role, ...] = ("read", "admin")


@dataclass(frozen=True)
class Identity:
    """Whose token a call carried (the name is safe to log)."""

    name: str
    role: Role


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token_line(role: Role, name: str) -> tuple[str, str]:
    """(a fresh random token, its token-file line `sha256:<hex> <role> <name>`)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"the token name must be one word, not {name!r}")
    token = secrets.token_urlsafe(32)
    return token, f"sha256:{digest(token).hex()} {role} {name}"


def read_token_file(path: Path) -> list[tuple[bytes, Identity]]:
    """The digests of a token file: one `sha256:<hex> <role> <name>` per line, `#` comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    entries: list[tuple[bytes, Identity]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        hashed = parts[0].removeprefix("sha256:") if parts else ""
        if (
            len(parts) != 3
            or not parts[0].startswith("sha256:")
            or len(hashed) != 64
            or parts[1] not in ROLES
        ):
            raise ValueError(
                f"{path}:{number}: expected 'sha256:<64 hex digits> <read|admin> <name>' "
                "(make lines with `textlens token new --role read --name NAME`)"
            )
        try:
            entries.append((bytes.fromhex(hashed), Identity(parts[2], parts[1])))
        except ValueError:
            raise ValueError(f"{path}:{number}: the digest is not hexadecimal") from None
    return entries
