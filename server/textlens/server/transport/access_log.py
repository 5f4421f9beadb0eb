"""The access log: one structured line per RPC on the `textlens.access` logger.

Off by default (`access_log = 0`): a busy server answers thousands of RPCs a
second and most deployments already see request rates in /metrics. When on, a
share of successful RPCs is logged (deterministically: every 1/rate-th, so a
rate of 0.01 logs exactly one in a hundred) and every failed one, because
failures are what someone reads the log for. The line names the token's
identity (`read-1`, a token-file name), never the token.

With `log_format = "json"` the fields are top-level keys of the JSON line
(`textlens.server.logs` merges `record.access`); in text format they read
`method=Sentiment model=... texts=8 status=OK ms=12.3 peer=... identity=...`.

`model` is the served model's name (or `unknown`); a name the request gave
that no served model has appears only as `requested=`, cut to 64 characters
and escaped (`untrusted.shown`), so a caller can neither forge a line with a
newline nor write megabytes per call.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from textlens.server.transport.untrusted import requested_model, shown

LOGGER = "textlens.access"
log = logging.getLogger(LOGGER)


def _texts(request: Any) -> int:
    texts = getattr(request, "texts", None)
    return len(texts) if texts is not None else 0


class AccessLog:
    """Samples RPCs into log lines; thread-safe (the servicer runs on one loop, metrics not)."""

    def __init__(self, rate: float) -> None:
        if not 0 <= rate <= 1:
            raise ValueError(f"access_log must be between 0 and 1, not {rate}")
        self.rate = rate
        self._credit = 0.0
        self._lock = threading.Lock()

    def _sampled(self, failed: bool) -> bool:
        if self.rate <= 0:
            return False
        if failed:
            return True
        with self._lock:
            self._credit += self.rate
            if self._credit + 1e-9 < 1.0:
                return False
            self._credit -= 1.0
            return True

    def record(
        self,
        method: str,
        request: Any,
        response: Any,
        status: str,
        seconds: float,
        context: Any,
        identity: str,
        model: str,
    ) -> None:
        """Log one call; `model` is the served name (`untrusted.served_name`)."""
        if not self._sampled(status != "OK"):
            return
        fields: dict[str, Any] = {"method": method, "model": model}
        asked = requested_model(request)
        if asked and asked != model:  # a name no served model has: shown, never raw
            fields["requested"] = shown(asked)
        fields |= {
            "texts": _texts(request),
            "status": status,
            "ms": round(seconds * 1000, 2),
            "peer": context.peer() or "",
            "identity": identity,
        }
        line = " ".join(f"{key}={value}" for key, value in fields.items())
        log.info("%s", line, extra={"access": fields})
