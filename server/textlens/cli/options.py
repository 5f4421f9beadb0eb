"""Options every command spells the same way, and the old spellings kept for one release.

One helper per option family: the text column (`--text-column`), where the data is
(`--db`, `--target`, `--config`), and the model registry (`--registry`). A renamed
option keeps its old spelling for one release: it still works and prints, once, what
to type instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textlens.contract.limits import TARGET_ENV

#: The model registry directory, when `--registry` is not given.
REGISTRY_ENV = "TEXTLENS_REGISTRY"


class RenamedOption(argparse.Action):
    """Stores the value; used under an old spelling, also says what the new one is."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        self.current = option_strings[0]
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if option_string is not None and option_string != self.current:
            message = f"{option_string} is renamed {self.current}; the old name goes next release"
            print(f"textlens: warning: {message}", file=sys.stderr)
            warnings.warn(message, DeprecationWarning, stacklevel=2)
        setattr(namespace, self.dest, values)


def add_text_column(
    parser: argparse.ArgumentParser,
    *,
    old: Sequence[str] = (),
    default: str | None = None,
    help: str = "the text column",
) -> None:
    """`--text-column NAME` (dest `text_column`); `old` spellings still work, with a warning."""
    shown = f"{help}" + (f" ({', '.join(old)}: the old name)" if old else "")
    parser.add_argument(
        "--text-column",
        *old,
        dest="text_column",
        action=RenamedOption,
        required=default is None,
        default=default,
        metavar="COLUMN",
        help=shown if default is None else f"{shown}; default {default!r}",
    )


def add_registry_option(parser: argparse.ArgumentParser) -> None:
    """`--registry DIR`, defaulting to $TEXTLENS_REGISTRY."""
    parser.add_argument(
        "--registry",
        type=Path,
        default=Path(os.environ[REGISTRY_ENV]) if os.environ.get(REGISTRY_ENV) else None,
        help=f"model registry directory (default ${REGISTRY_ENV})",
    )


def add_backend_options(parser: argparse.ArgumentParser, *, db_required: bool = False) -> None:
    """Where the data is and who computes: `--db`, `--target`, `--config`, `--registry`."""
    if db_required:
        parser.add_argument("--db", type=Path, required=True, help="DuckDB database file")
    else:
        parser.add_argument("--db", default=None, help="DuckDB database file (default: in-memory)")
    parser.add_argument(
        "--target",
        default=None,
        help=f"textlens server host:port (remote mode; default ${TARGET_ENV}, "
        "else the models run in this process)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="embedded mode: TOML model config (default: $TEXTLENS_CONFIG or the built-ins)",
    )
    add_registry_option(parser)


def use_registry(args: argparse.Namespace) -> None:
    """Embedded mode reads the registry from the settings: hand `--registry` to them."""
    registry = getattr(args, "registry", None)
    if registry is not None:
        os.environ[REGISTRY_ENV] = str(registry)
