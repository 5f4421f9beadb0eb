"""Constructor arguments shared by `Client` and `AsyncClient`, checked once.

Bad settings are programming errors, so they raise ValueError at construction
rather than a TextlensError on the first call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from textlens.client.targets import resolve_target


@dataclass(frozen=True)
class Settings:
    """Validated client settings; `target` is already resolved (argument, env, default)."""

    target: str
    timeout: float
    retries: int
    backoff: float
    batch_size: int

    @classmethod
    def create(
        cls,
        target: str | Sequence[str] | None,
        *,
        timeout: float,
        retries: int,
        backoff: float,
        batch_size: int,
    ) -> Settings:
        if not (isinstance(timeout, int | float) and timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not (isinstance(retries, int) and retries >= 0):
            raise ValueError(f"retries must be an int >= 0, got {retries!r}")
        if not (isinstance(backoff, int | float) and backoff >= 0 and math.isfinite(backoff)):
            raise ValueError(f"backoff must be a number of seconds >= 0, got {backoff!r}")
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        return cls(
            target=resolve_target(target),
            timeout=float(timeout),
            retries=retries,
            backoff=float(backoff),
            batch_size=batch_size,
        )
