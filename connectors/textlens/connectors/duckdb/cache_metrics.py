"""Prometheus metrics of the DuckDB side: rows, cache hits and misses, backend calls.

Where a registration lives in a long-running process (Superset's workers, a
notebook server, an ETL daemon) the server's /metrics cannot tell how much
work the result cache saved; this does. Values are read from each
registration's `stats()` at scrape time, so nothing is counted twice and an
idle process costs nothing.

    reg = register(con, "host:50051")
    metrics = DuckdbMetrics(lambda: {"warehouse": reg})
    port = metrics.start("127.0.0.1", 9465)

The `duckdb+textlens` dialect does this by itself when the process has
`TEXTLENS_DUCKDB_METRICS_PORT` set (see `connectors/textlens/connectors/sqlalchemy/shared.py`);
with several worker processes (gunicorn), give each its own port or run one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from textlens.connectors.duckdb.register import Registration

log = logging.getLogger(__name__)

#: CacheStats counter -> (metric name without `_total`, help).
COUNTERS = {
    "rows": ("textlens_duckdb_rows", "Non-NULL rows that reached the textlens UDFs"),
    "nulls": ("textlens_duckdb_null_rows", "NULL rows answered NULL without work"),
    "chunks": ("textlens_duckdb_chunks", "DuckDB chunks the UDFs were called with"),
    "items": ("textlens_duckdb_items", "Distinct (text, options) pairs after de-duplication"),
    "hits": ("textlens_duckdb_cache_hits", "Items answered from the result cache"),
    "shared": ("textlens_duckdb_cache_shared", "Items another thread was computing already"),
    "misses": ("textlens_duckdb_cache_misses", "Items not in the cache"),
    "computed": ("textlens_duckdb_computed", "Items the backend computed"),
    "calls": ("textlens_duckdb_backend_calls", "Backend calls (RPCs in remote mode)"),
    "evictions": ("textlens_duckdb_cache_evictions", "Cache entries evicted to stay in bounds"),
}
GAUGES = {
    "entries": ("textlens_duckdb_cache_entries", "Entries in the result cache"),
    "bytes": ("textlens_duckdb_cache_bytes", "Estimated bytes held by the result cache"),
}

Source = Callable[[], Mapping[str, "Registration"]]


class RegistrationCollector(Collector):
    """One sample per registration (label `registration`) for each CacheStats field."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        stats = {name: reg.stats() for name, reg in self.source().items()}
        for field, (metric, doc) in COUNTERS.items():
            family = CounterMetricFamily(metric, doc, labels=["registration"])
            for name, values in stats.items():
                family.add_metric([name], float(getattr(values, field)))
            yield family
        for field, (metric, doc) in GAUGES.items():
            gauge = GaugeMetricFamily(metric, doc, labels=["registration"])
            for name, values in stats.items():
                gauge.add_metric([name], float(getattr(values, field)))
            yield gauge


class DuckdbMetrics:
    """A registry of its own (not the process-global one) served on an HTTP port."""

    def __init__(self, source: Source) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(RegistrationCollector(source))
        self._server: Any = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve /metrics on host:port (0: a free port); returns the port."""
        self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        bound: int = self._server.server_port
        log.info("textlens DuckDB metrics on http://%s:%d/metrics", host, bound)
        return bound

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
