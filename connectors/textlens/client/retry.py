"""When to try a failed call again, shared by the sync and asyncio clients.

Only a full queue (Overloaded) and an unreachable or stopping server
(ServerUnavailable, ShuttingDown) are worth retrying: every other error would
recur. Pauses grow exponentially with jitter, so clients that failed together
do not come back together, and a pause that would end past the call's
deadline is not taken: the caller gets the real error at once instead of a
DeadlineExceeded later.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from textlens.contract import errors
from textlens.contract.limits import MAX_BACKOFF

RETRYABLE: tuple[type[errors.TextlensError], ...] = (
    errors.Overloaded,
    errors.ServerUnavailable,
    errors.ShuttingDown,
)


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` more attempts after the first, pausing about `backoff * 2**attempt` seconds."""

    retries: int
    backoff: float
    max_backoff: float = MAX_BACKOFF

    def pause(self, error: errors.TextlensError, attempt: int, remaining: float) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up and raise `error`.

        `attempt` counts from 0 (the first try); `remaining` is the time left to the deadline.
        """
        if not isinstance(error, RETRYABLE) or attempt >= self.retries:
            return None
        pause = min(self.max_backoff, self.backoff * 2**attempt) * random.uniform(0.5, 1.0)
        return pause if pause < remaining else None
