"""What a monitor run watches and how it decides a spike, validated up front."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$")
_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_duration(value: str) -> dt.timedelta:
    """`30m`, `6h`, `1d`, `2w` -> timedelta; anything else is a clear error."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(
            f"duration {value!r} is not understood: use a number and m, h, d or w (e.g. 1d, 6h)"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be positive")
    return dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class MonitorSpec:
    """One monitor: the table and columns, the windows, the spike test, where outputs go.

    `target` names a textlens server (remote functions); None runs the models
    in this process (embedded, `config` as for `textlens serve`). With
    `sentiment_column` the table's own labels (e.g. from `textlens enrich`) are
    used and no model is called for sentiment.
    """

    db: Path
    table: str
    text: str
    time: str
    out: Path
    by: list[str] = field(default_factory=list)
    by_topic: str | None = None
    window: str = "1d"
    baseline: str = "28d"
    cooldown: str = "7d"
    min_n: int = 20
    min_baseline_n: int = 50
    threshold: float = 4.0
    min_lift: float = 0.10
    examples: int = 3
    since: dt.datetime | None = None
    target: str | None = None
    config: Path | None = None
    sentiment_model: str | None = None
    sentiment_column: str | None = None
    progress: bool = True
    #: Fold near-copies within a window and group (cosine threshold), None: count every row.
    dedupe: float | None = None

    def __post_init__(self) -> None:
        for role, name in [
            ("--text-column", self.text),
            ("--time", self.time),
            *[("--by", b) for b in self.by],
        ]:
            if not _IDENT.match(name):
                raise ValueError(f"{role} {name!r} must be a plain column name")
        if self.sentiment_column is not None and not _IDENT.match(self.sentiment_column):
            raise ValueError(f"--sentiment-column {self.sentiment_column!r} must be a column name")
        if not self.by and not self.by_topic:
            raise ValueError(
                "say what to group by: --by COLUMN (repeatable) and/or --by-topic MODEL"
            )
        reserved = {"topic", "dimension", "window_start", "window_end", "n", "negative"}
        clash = reserved & set(self.by)
        if clash:
            raise ValueError(
                f"--by {sorted(clash)} clashes with an output column; alias it in a view"
            )
        if self.min_n < 1 or self.min_baseline_n < 1:
            raise ValueError("--min-n and --min-baseline-n must be at least 1")
        if self.threshold <= 0:
            raise ValueError("--threshold must be positive (a z statistic, e.g. 4)")
        if not 0 <= self.min_lift < 1:
            raise ValueError("--min-lift is a share difference in [0, 1)")
        window = parse_duration(self.window)
        if parse_duration(self.baseline) < window:
            raise ValueError("--baseline must be at least one --window long")
        parse_duration(self.cooldown)
        if self.dedupe is not None and not 0 < self.dedupe <= 1:
            raise ValueError(f"--dedupe is a cosine in (0, 1] (e.g. 0.9), not {self.dedupe!r}")

    @property
    def window_delta(self) -> dt.timedelta:
        return parse_duration(self.window)

    @property
    def baseline_delta(self) -> dt.timedelta:
        return parse_duration(self.baseline)

    @property
    def cooldown_delta(self) -> dt.timedelta:
        return parse_duration(self.cooldown)

    @property
    def dimensions(self) -> list[str]:
        """The grouping columns of the outputs: each --by column, then `topic`."""
        return [*self.by, *(["topic"] if self.by_topic else [])]
