"""What this CPU can do fast, and how many cores this process may use.

Both feed decisions that must hold per machine: the candidates `auto`
measures (bf16 only where the CPU has native bf16, `reduce_range` int8 on x86
without VNNI) and the thread count (a container limited to 2 CPUs on a 64-core
host must not start 64 threads).
"""

from __future__ import annotations

import hashlib
import math
import os
import platform
from dataclasses import dataclass
from pathlib import Path

#: The flags that change what runs fast; printed by every benchmark.
INTERESTING_FLAGS = (
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "asimddp",
    "bf16",
    "i8mm",
    "sve",
)


@dataclass(frozen=True)
class CpuInfo:
    model: str
    machine: str
    flags: frozenset[str]

    @property
    def native_bf16(self) -> bool:
        """bf16 matmuls in hardware (AVX512_BF16 or AMX on x86, BF16 on ARM)."""
        if self.machine in ("x86_64", "amd64"):
            return bool({"avx512_bf16", "amx_bf16"} & self.flags)
        return "bf16" in self.flags

    @property
    def int8_dot(self) -> bool:
        """int8 dot products in hardware (VNNI, AMX-INT8 or ARM's dot-product)."""
        return bool({"avx512_vnni", "avx_vnni", "amx_int8", "asimddp"} & self.flags)

    @property
    def x86(self) -> bool:
        return self.machine in ("x86_64", "amd64", "i686")

    def shown_flags(self) -> list[str]:
        return [f for f in INTERESTING_FLAGS if f in self.flags]

    def fingerprint(self) -> str:
        """Changes when the CPU does (a cached `auto` choice is per machine kind)."""
        text = f"{self.model}|{self.machine}|{','.join(sorted(self.shown_flags()))}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """The CPU's model name and flags (Linux's /proc/cpuinfo; elsewhere torch's view)."""
    model, flags = platform.processor() or platform.machine(), set[str]()
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("flags", "features") and not flags:
            flags = set(value.split())
        elif key in ("model name", "cpu model") and value.strip():
            model = value.strip()
    if not flags:
        flags = _torch_capability_flags()
    return CpuInfo(model=model, machine=platform.machine().lower(), flags=frozenset(flags))


def _torch_capability_flags() -> set[str]:
    """Off Linux: torch's own dispatch level (`AVX512`, `AVX2`, …) as flags."""
    try:
        import torch

        level = str(torch.backends.cpu.get_cpu_capability()).lower()
    except Exception:  # pragma: no cover - torch missing or too old
        return set()
    return {"avx2", "fma"} | ({"avx512f", "avx512bw", "avx512vl"} if "avx512" in level else set())


def usable_cores(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_limit(cgroup_root)
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs a cgroup quota allows (v2 `cpu.max`, v1 `cpu.cfs_quota_us`); None if unlimited."""
    v2 = root / "cpu.max"
    try:
        if v2.is_file():
            quota, _, period = v2.read_text().strip().partition(" ")
            if quota == "max":
                return None
            return int(quota) / int(period or "100000")
        v1 = root / "cpu" / "cpu.cfs_quota_us"
        if v1.is_file():
            quota_us = int(v1.read_text().strip())
            period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text().strip())
            return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None
    return None
