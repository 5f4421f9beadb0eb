"""SIGTERM: health goes NOT_SERVING (listener still open), in-flight requests finish, exit 0."""

from __future__ import annotations

import re
import signal
import threading
import time
import urllib.request
from typing import Any

import pytest

from tests.helpers import free_port
from textlens.client import Client
from textlens.client.errors import ServerUnavailable, TextlensError
from textlens.server.process import ServerProcess


def texts_computed(port: int) -> float:
    """Texts the sentiment model has run through forward passes (its /metrics)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        body = reply.read().decode()
    found = re.search(r'^textlens_batch_rows_sum\{model="sentiment-minilm"\} (\S+)$', body, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_graceful_shutdown_finishes_in_flight_work(sig: int) -> None:
    port = free_port()
    server = ServerProcess(env={"TEXTLENS_GRACE_SECONDS": "60", "TEXTLENS_METRICS_PORT": str(port)})
    computed_before = texts_computed(port)
    texts = [f"review {i}: it works, but the battery could last longer" for i in range(1500)]
    outcome: dict[str, Any] = {}

    def in_flight() -> None:
        with Client(server.target, timeout=120, retries=0) as c:
            try:
                outcome["results"] = c.sentiment(texts)
            except TextlensError as exc:  # pragma: no cover - reported below
                outcome["error"] = exc

    thread = threading.Thread(target=in_flight)
    thread.start()
    deadline = time.monotonic() + 120
    while texts_computed(port) == computed_before:  # until the request is being computed
        assert time.monotonic() < deadline and thread.is_alive(), "the request never started"
        time.sleep(0.02)
    code = server.stop(sig, timeout=120)
    thread.join()
    assert "error" not in outcome, outcome.get("error")
    assert len(outcome["results"]) == len(texts) and all(r is not None for r in outcome["results"])
    assert code == 0, server.output()
    assert "shutting down" in server.output()
    with (
        Client(server.target, timeout=2, retries=0) as c,
        pytest.raises(ServerUnavailable, match=server.target),
    ):
        c.sentiment(["anyone there?"])


def test_health_goes_not_serving_before_the_listener_closes() -> None:
    """Issue 12 item 7: load balancers must see NOT_SERVING while requests still get answers."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    server = ServerProcess(env={"TEXTLENS_DRAIN_SECONDS": "4"})
    with grpc.insecure_channel(server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service="textlens.v1.TextAnalysis")
        assert health.Check(request, timeout=10).status == health_pb2.HealthCheckResponse.SERVING
        server.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 4
        status = health_pb2.HealthCheckResponse.SERVING
        while time.monotonic() < deadline and status == health_pb2.HealthCheckResponse.SERVING:
            status = health.Check(request, timeout=5).status
            time.sleep(0.05)
        assert status == health_pb2.HealthCheckResponse.NOT_SERVING
        with Client(server.target, timeout=10, retries=0) as c:  # still answering while draining
            (result,) = c.sentiment(["still here?"])
            assert result is not None
    assert server.stop(timeout=60) == 0
    assert "NOT_SERVING for 4.0s" in server.output()
