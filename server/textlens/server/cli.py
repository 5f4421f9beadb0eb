"""Deprecated: the command line moved to `textlens.cli` (the `textlens` command is
`textlens.cli:main`). `python -m textlens.server.cli` keeps working for one release."""

from __future__ import annotations

import warnings

from textlens.cli.main import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())

warnings.warn(
    "textlens.server.cli moved to textlens.cli; import main from there",
    DeprecationWarning,
    stacklevel=2,
)
