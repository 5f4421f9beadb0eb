"""The one door from the connectors into the server (the embedded DuckDB mode).

`textlens.connectors.duckdb` imports nothing else of `textlens.server`: it asks this
module for an in-process Analyzer built from a configuration exactly as
`textlens serve` would serve it (its models, its registry, its `[server]` threads and
cache_dir), and talks to that Analyzer through the methods the gRPC core uses.
"""

from __future__ import annotations

from pathlib import Path

from textlens.server.assembly import load_registry
from textlens.server.runtime.analyzer import Analyzer
from textlens.server.settings import load_settings

__all__ = ["Analyzer", "analyzer_for_config"]


def analyzer_for_config(config: str | Path | None = None) -> Analyzer:
    """The runtime for a TOML config (None: $TEXTLENS_CONFIG, else the embedded defaults)."""
    return Analyzer(load_registry(load_settings(config)))
