"""The `textlens` command line: one module per command group, all parsers in one place.

`main` builds the parser from every group (`textlens.cli.main`); each group imports its
library (the models, DuckDB, Superset tooling) only when its command runs, so
`textlens --help` and the client commands work on the base install.
"""

from __future__ import annotations

from textlens.cli.main import main

__all__ = ["main"]
