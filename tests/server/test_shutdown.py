"""SIGTERM: health goes NOT_SERVING, in-flight requests finish, the process exits 0."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest

from textlens.client import Client
from textlens.client.errors import ServerUnavailable, TextlensError
from textlens.server.process import ServerProcess


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_graceful_shutdown_finishes_in_flight_work(sig: int) -> None:
    server = ServerProcess(env={"TEXTLENS_GRACE_SECONDS": "60"})
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
    time.sleep(1.0)  # the request is being computed
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
