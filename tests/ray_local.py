"""A local Ray cluster for the `ray` tests, with its start-up time and peak memory.

One cluster per test session (`ray.init(num_cpus=2)`, no dashboard), shared by
the Serve and the Ray Data tests. A sampler thread reads the resident memory
of every Ray process from /proc twice a second, so the session can say what
the cluster cost on this machine (issue 13, point 8): Ray's own processes
(GCS, raylet, workers) and the replicas and actors running our models.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _ray_processes() -> dict[int, tuple[str, int]]:
    """{pid: (name, resident KiB)} of the Ray processes (cmdline starting with `ray::` or
    naming a Ray daemon)."""
    found: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = (entry / "status").read_text()
        except OSError:
            continue
        if not ("ray::" in cmdline or "raylet" in cmdline or "gcs_server" in cmdline):
            continue
        rss = next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
        )
        words = cmdline.split()
        name = next((w for w in words if w.startswith("ray::")), Path(words[0]).name)
        found[int(entry.name)] = (name[:60], rss)
    return found


@dataclass
class RayMemory:
    """Peak resident memory of the Ray processes while the sampler ran."""

    peak_total_kib: int = 0
    peak_by_pid: dict[int, int] = field(default_factory=dict)
    names_by_pid: dict[int, set[str]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        procs = _ray_processes()
        self.peak_total_kib = max(self.peak_total_kib, sum(rss for _, rss in procs.values()))
        for pid, (name, rss) in procs.items():
            self.peak_by_pid[pid] = max(self.peak_by_pid.get(pid, 0), rss)
            # A worker starts as ray::IDLE and is renamed once it runs an actor.
            self.names_by_pid.setdefault(pid, set()).add(name.split(".")[0])

    def run(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def pids_named(self, part: str) -> set[int]:
        """The processes seen so far under a name containing `part` (e.g. an actor class)."""
        return {pid for pid, names in self.names_by_pid.items() if any(part in n for n in names)}

    def name(self, pid: int) -> str:
        names = sorted(
            self.names_by_pid.get(pid, ()),
            key=lambda n: (not n.startswith("ray::"), "IDLE" in n, n),
        )
        return names[0] if names else str(pid)

    def stop(self) -> None:
        self._stop.set()

    def report(self) -> str:
        top = sorted(self.peak_by_pid.items(), key=lambda kv: -kv[1])[:4]
        parts = ", ".join(f"{self.name(pid)} {kib / 1024:.0f}" for pid, kib in top)
        own = _own_peak_kib()
        return (
            f"ray: peak resident memory of the Ray processes together {self.peak_total_kib / 1024:.0f} MiB "
            f"(largest, MiB: {parts}); this pytest process {own / 1024:.0f} MiB"
        )


def _own_peak_kib() -> int:
    status = Path(f"/proc/{os.getpid()}/status").read_text()
    return next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0
    )


@dataclass(frozen=True)
class RayLocal:
    """What the `ray_local` fixture gives: the ray module and the memory sampler."""

    ray: Any
    memory: RayMemory


def start_local_ray() -> tuple[RayMemory, float]:
    """`ray.init(num_cpus=2)` and a memory sampler; returns it and the start-up seconds."""
    import ray

    started = time.monotonic()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    seconds = time.monotonic() - started
    memory = RayMemory()
    threading.Thread(target=memory.run, name="ray-memory", daemon=True).start()
    return memory, seconds


def tiny_ray_toml(
    tiny_models_dir: dict[str, Path],
    *,
    registry: Path | None = None,
    max_wait_ms: int | None = None,
) -> str:
    """textlens.toml for the Ray tests: the tiny sentiment, NER and embedding models.

    Pinned to one thread, CPU, torch, float32: the Ray answers are compared with a
    standalone process's to the byte or to 1e-5, which needs the same engine and the
    same thread count in both (Ray gives an actor with num_cpus < 1 one thread).
    """
    server = ["[server]", "threads = 1"] + ([f'registry = "{registry}"'] if registry else [])
    blocks = ["\n".join(server)]
    for name, task, model in (
        ("tiny-sentiment", "sentiment", "tiny-sequence"),
        ("tiny-ner", "ner", "tiny-token"),
        ("tiny-embed", "embed", "tiny-encoder"),
    ):
        lines = [
            "[[models]]",
            f'name = "{name}"',
            f'task = "{task}"',
            f'source = "{tiny_models_dir[model]}"',
            'device = "cpu"',
            'backend = "torch"',
            'dtype = "float32"',
        ]
        if max_wait_ms is not None:
            lines.append(f"max_wait_ms = {max_wait_ms}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
