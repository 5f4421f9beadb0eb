"""Threads and the cache directory: the two process-wide resources engines share.

Torch's intra-op pool and each ONNX Runtime session get the cores this
process may use (`hardware.usable_cores`, or `threads` in the settings);
forward passes of different models take turns on the engines' shared CPU
lock (`cpu_lock.CpuLock`: small rounds' passes first), so N cores run N
compute threads, not N per model.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from textlens.server.runtime.hardware import usable_cores

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/textlens`, else `~/.cache/textlens` (`TEXTLENS_CACHE_DIR` wins)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "textlens"


def thread_count(requested: int = 0) -> int:
    """`requested`, or (0) the cores this process may use."""
    return requested if requested > 0 else usable_cores()


def configure_threads(requested: int = 0) -> int:
    """Point torch's intra-op pool at `thread_count(requested)` cores; returns the count."""
    n = thread_count(requested)
    if torch.get_num_threads() != n:
        log.debug("torch intra-op threads: %d -> %d", torch.get_num_threads(), n)
        torch.set_num_threads(n)
    return n
