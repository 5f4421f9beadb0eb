"""CPU flags and the cores a process may use: parsed from the files Linux really writes."""

from __future__ import annotations

from pathlib import Path

from textlens.server.runtime.hardware import cgroup_cpu_limit, cpu_info, usable_cores

ZEN4 = """processor	: 0
vendor_id	: AuthenticAMD
model name	: AMD EPYC 9R14
flags		: fpu sse2 avx2 fma avx512f avx512bw avx512vl avx512_bf16 avx512_vnni
"""
ZEN3 = """processor	: 0
model name	: AMD EPYC 7R13
flags		: fpu sse2 avx2 fma
"""


def test_flags_decide_bf16_and_int8(tmp_path: Path) -> None:
    (tmp_path / "zen4").write_text(ZEN4)
    (tmp_path / "zen3").write_text(ZEN3)
    zen4, zen3 = cpu_info(tmp_path / "zen4"), cpu_info(tmp_path / "zen3")
    assert zen4.model == "AMD EPYC 9R14"
    assert zen4.native_bf16 and zen4.int8_dot
    assert not zen3.native_bf16 and not zen3.int8_dot
    assert "avx512_vnni" in zen4.shown_flags() and "avx512_vnni" not in zen3.shown_flags()
    assert zen4.fingerprint() != zen3.fingerprint()


def test_this_machine_has_a_reading() -> None:
    info = cpu_info()
    assert info.machine and info.model
    assert usable_cores() >= 1


def test_cgroup_v2_quota_caps_the_cores(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.5
    assert usable_cores(tmp_path) <= 2  # 1.5 CPUs -> 2 threads at most
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.0
    assert usable_cores(tmp_path) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path) is None
