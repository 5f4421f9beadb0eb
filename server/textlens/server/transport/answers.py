"""How every front answers a failure: one status code, message and trailer per error.

The grpc.aio servicer, the Ray Serve replica and the guard in front of health and
reflection all turn an exception into the same answer here, so a client sees the same
status, the same redacted message and the same `textlens-error` trailer whichever front
it reached. A textlens error keeps its own status (`contract.status`); anything else is
INTERNAL with a message that says it is a bug, and its traceback stays in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import grpc

from textlens.contract.errors import TextlensError
from textlens.contract.status import status_for
from textlens.contract.trailers import ERROR_TRAILER
from textlens.server.transport.redact import redact_paths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """What a failed call answers: its status, message and trailing metadata."""

    code: grpc.StatusCode
    message: str
    trailers: tuple[tuple[str, str], ...]

    @property
    def outcome(self) -> str:
        """The status name metrics and the access log record."""
        return self.code.name


def refusal(method: str, error: BaseException) -> Refusal:
    """The answer to `error` raised while serving `method`."""
    if isinstance(error, TextlensError):
        return Refusal(
            status_for(error),
            redact_paths(str(error)),
            ((ERROR_TRAILER, type(error).__name__),),
        )
    log.error("%s failed", method, exc_info=error)
    return Refusal(
        grpc.StatusCode.INTERNAL,
        f"{method} failed inside the server: {type(error).__name__}: "
        f"{redact_paths(str(error))}. This is a textlens bug; the server log has the traceback",
        (),
    )
