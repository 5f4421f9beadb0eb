"""Prometheus metrics on their own HTTP port (`[server] metrics_port`; off by default).

Two sources: the RPC layer counts requests, texts and latency as calls finish
(`ServerMetrics.observe`, called by the servicer's one error wrapper; labelled
with the served model's name or `unknown`, never a request string), and a
collector reads the runtime's own counters at scrape time (queue depth,
forward passes and their seconds, padded vs real tokens, load time, the
version/backend/dtype each model serves), so the batcher needs no Prometheus
code and a scrape always sees the current registry after a reload.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector

from textlens.server.runtime.registry import ModelRegistry

log = logging.getLogger(__name__)

#: Latency buckets (seconds): a one-text call to a full 2,048-row chunk on a CPU.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class RuntimeCollector(Collector):
    """The model registry's counters, read at scrape time."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        models = list(self.registry.models.values())
        queue = GaugeMetricFamily(
            "textlens_queue_texts", "Texts waiting for the model", labels=["model"]
        )
        info = GaugeMetricFamily(
            "textlens_model_info",
            "Served model (value 1)",
            labels=["model", "task", "version", "backend", "dtype"],
        )
        load = GaugeMetricFamily(
            "textlens_model_load_seconds", "Seconds the model took to load", labels=["model"]
        )
        counters = {
            "forward_passes": "Forward passes run",
            "forward_seconds": "Seconds spent in forward passes",
            "batches": "Batches formed from queued jobs",
            "padded_tokens": "Tokens computed including padding",
            "real_tokens": "Tokens of the texts themselves",
            "rejected_overload": "Requests refused because the queue was full",
            "dropped_deadline": "Jobs dropped because their deadline passed",
            "preemptions": "Rounds of small jobs served between two passes of a bulk round",
            "cancelled": "Jobs whose caller gave up (cancelled call, deadline) before they finished",
            "abandoned_rows": "Rows left uncomputed because their job was cancelled or expired",
        }
        families = {
            key: CounterMetricFamily(f"textlens_{key}", doc, labels=["model"])
            for key, doc in counters.items()
        }
        for served in models:
            stats = served.batcher.stats.snapshot()
            i = served.info()
            queue.add_metric([served.name], served.batcher.queued_texts)
            info.add_metric([served.name, i.task, i.version, i.backend, i.dtype], 1)
            load.add_metric([served.name], served.load_seconds)
            for key, family in families.items():
                family.add_metric([served.name], float(stats[key]))
        wait = SummaryMetricFamily(
            "textlens_queue_wait_seconds",
            "Seconds jobs waited in the queue before their batch started",
            labels=["model"],
        )
        rows = SummaryMetricFamily(
            "textlens_batch_rows",
            "Texts per forward pass (count = forward passes, sum = texts)",
            labels=["model"],
        )
        for served in models:
            stats = served.batcher.stats.snapshot()
            wait.add_metric([served.name], int(stats["started_jobs"]), stats["queue_wait_seconds"])
            rows.add_metric([served.name], int(stats["forward_passes"]), stats["batch_rows"])
        yield queue
        yield info
        yield load
        yield wait
        yield rows
        yield from families.values()


class ServerMetrics:
    """The metrics of one server; its own CollectorRegistry (no process-wide state)."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.prometheus = CollectorRegistry()
        self.requests = Counter(
            "textlens_requests", "RPCs answered", ["rpc", "model", "code"], registry=self.prometheus
        )
        self.texts = Counter(
            "textlens_texts", "Texts received", ["rpc", "model"], registry=self.prometheus
        )
        self.latency = Histogram(
            "textlens_request_seconds",
            "RPC latency in the server",
            ["rpc"],
            buckets=LATENCY_BUCKETS,
            registry=self.prometheus,
        )
        self.prometheus.register(RuntimeCollector(registry))
        self._server: Any = None

    def observe(self, rpc: str, model: str, texts: int, code: str, seconds: float) -> None:
        """Count one finished call; `model` is a served name or `unknown` (see untrusted.py).

        Never a request string: every label value is kept for the life of the
        process, so request-chosen labels are memory any caller could grow.
        """
        self.requests.labels(rpc, model, code).inc()
        if texts:
            self.texts.labels(rpc, model).inc(texts)
        self.latency.labels(rpc).observe(seconds)

    def start(self, host: str, port: int) -> int:
        """Serve /metrics on host:port (0: a free port); returns the port."""
        self._server, _ = start_http_server(port, addr=host, registry=self.prometheus)
        bound: int = self._server.server_port
        log.info("metrics on http://%s:%d/metrics", host, bound)
        return bound

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
