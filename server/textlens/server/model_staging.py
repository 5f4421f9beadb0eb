"""Who owns a registry staging directory, and removing those whose owner is gone.

`ModelStore.staging()` gives `train --register` and `topics fit` a fresh
`.staging/run-*` directory and removes it when the run ends, but a run killed
outright (kill -9, the OOM killer, a power cut) cannot, and nothing removed
those directories (issue 22, item 10). Each run now leaves an owner file
beside its directory (`run-XXXX.owner`: host, boot id, pid and the process's
start time, so a reused pid is not mistaken for the owner), and the next run
removes the directories whose owner is certainly gone:

* owner on this host and boot, and that process is not running: removed;
* owner on another host (a shared registry): kept, unless unclaimed for
  `STALE_SECONDS` (longer than any training run);
* no owner file (made before this change): removed once older than
  `STALE_SECONDS`.

A running run's directory is never removed. Torch-free: imported by
`textlens.server.model_store`, beside it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
from pathlib import Path

log = logging.getLogger(__name__)

OWNER_SUFFIX = ".owner"
#: A staging directory untouched this long has no live run behind it (one day).
STALE_SECONDS = 24 * 3600.0


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """The process's start time since boot (clock ticks), '' where /proc is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, started: str) -> bool:
    if started and Path("/proc").is_dir():
        return _start_time(pid) == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def owner_file(run: Path) -> Path:
    return run.with_name(run.name + OWNER_SUFFIX)


def claim(run: Path) -> None:
    """Record this process as `run`'s owner (before anything is written into it)."""
    pid = os.getpid()
    owner = {
        "host": socket.gethostname(),
        "boot": _boot_id(),
        "pid": pid,
        "started": _start_time(pid),
    }
    owner_file(run).write_text(json.dumps(owner), encoding="utf-8")


def release(run: Path) -> None:
    owner_file(run).unlink(missing_ok=True)


def _owner_gone(run: Path, now: float) -> bool:
    path = owner_file(run)
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:  # no owner recorded: only age can tell
        return now - run.stat().st_mtime > STALE_SECONDS
    except (OSError, ValueError):
        return now - path.stat().st_mtime > STALE_SECONDS
    same_machine = owner.get("host") == socket.gethostname() and owner.get("boot") == _boot_id()
    if not same_machine:
        return now - path.stat().st_mtime > STALE_SECONDS
    return not _alive(int(owner["pid"]), str(owner.get("started", "")))


def sweep(base: Path) -> list[Path]:
    """Remove the `run-*` directories under `base` whose run is certainly over."""
    removed: list[Path] = []
    if not base.is_dir():
        return removed
    now = time.time()
    for run in sorted(base.glob("run-*")):
        if run.name.endswith(OWNER_SUFFIX):
            if not run.with_name(run.name[: -len(OWNER_SUFFIX)]).exists():
                run.unlink(missing_ok=True)  # its directory was published or removed
            continue
        try:
            if not run.is_dir() or not _owner_gone(run, now):
                continue
        except (OSError, ValueError, KeyError):
            continue  # unreadable: leave it
        shutil.rmtree(run, ignore_errors=True)
        release(run)
        removed.append(run)
    if removed:
        log.warning(
            "removed %d staging director%s left by runs that were killed: %s",
            len(removed),
            "y" if len(removed) == 1 else "ies",
            ", ".join(r.name for r in removed),
        )
    return removed
