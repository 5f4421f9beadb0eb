"""`textlens token new`: a fresh token, printed once, and its line for the token file.

The server keeps only digests (`token_file`), so the token is shown here and
nowhere else; `--file` appends the line (creating the file with mode 0600).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def add_token_parser(sub: Any) -> None:
    token = sub.add_parser("token", help="make tokens for the server's token_file")
    actions = token.add_subparsers(dest="token_command", required=True)
    new = actions.add_parser(
        "new",
        help="print a new random token and the token_file line that admits it",
        description="The token goes to stdout (give it to the caller); the line "
        "`sha256:<hex> <role> <name>` goes to --file, or to stderr without --file.",
    )
    new.add_argument("--role", choices=("read", "admin"), default="read")
    new.add_argument("--name", required=True, help="who holds it; the access log shows this")
    new.add_argument("--file", type=Path, default=None, help="append the line to this file")
    new.set_defaults(func=run_token_new)


def run_token_new(args: argparse.Namespace) -> int:
    from textlens.server.token_file import new_token_line, read_token_file

    token, line = new_token_line(args.role, args.name)
    if args.file is None:
        print(line, file=sys.stderr)
    else:
        if args.file.exists():
            taken = {identity.name for _, identity in read_token_file(args.file)}
            if args.name in taken:
                raise ValueError(f"{args.file} already has a token named {args.name!r}")
        fd = os.open(args.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line + "\n")
        print(f"appended {args.role} token {args.name!r} to {args.file}", file=sys.stderr)
    print(token)
    return 0
