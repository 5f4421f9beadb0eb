"""`textlens monitor`: negative-sentiment share per group and time window, and spike alerts.

Reads the warehouse read-only (a Superset or another reader can hold it at the
same time), scores texts through the textlens SQL functions (embedded or a
server) with a cache next to the outputs, aggregates windows in DuckDB, and
writes `windows.parquet`, `alerts.parquet` and `scores.parquet` atomically.
The method is in `textlens.monitor.spikes`.

The names below load on first use (PEP 562): `textlens --help` imports
`textlens.cli.monitor` to build its parser, and that must work on the
base install, which has neither DuckDB nor pyarrow (issue 22, item 14).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textlens.monitor.run import MonitorResult, run_monitor
    from textlens.monitor.spec import MonitorSpec, parse_duration

_WHERE = {
    "MonitorResult": "textlens.monitor.run",
    "run_monitor": "textlens.monitor.run",
    "MonitorSpec": "textlens.monitor.spec",
    "parse_duration": "textlens.monitor.spec",
}

__all__ = ["MonitorResult", "MonitorSpec", "parse_duration", "run_monitor"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
