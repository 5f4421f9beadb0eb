"""`textlens monitor`: negative-sentiment share per group and time window, and spike alerts.

Reads the warehouse read-only (a Superset or another reader can hold it at the
same time), scores texts through the textlens SQL functions (embedded or a
server) with a cache next to the outputs, aggregates windows in DuckDB, and
writes `windows.parquet`, `alerts.parquet` and `scores.parquet` atomically.
The method is in `textlens.connectors.monitor.spikes`.
"""

from textlens.connectors.monitor.run import MonitorResult, run_monitor
from textlens.connectors.monitor.spec import MonitorSpec, parse_duration

__all__ = ["MonitorResult", "MonitorSpec", "parse_duration", "run_monitor"]
