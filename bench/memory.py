"""Server memory with the four default models: torch weights kept beside ONNX Runtime, or freed.

    python bench/memory.py [--json out.json]

Three `textlens serve` children, one after another, sharing one cache, each
started once beforehand so that every measured run finds its exports,
quantized graphs and engine choices made (a first start also quantizes, which
needs more memory for a while: the peak of the warm-up is not reported): the default models on this machine's `auto`
paths, then all four pinned to ONNX float32 with `release_torch_weights` off
(how every ONNX model was served before: the torch network stayed in memory
beside the session) and on (the default). After each server answers one call
per task, its resident memory (VmRSS) and peak (VmHWM) are read from
/proc/<pid>/status, so this runs on Linux. Prints the CPU flags, a table and one
JSON object. About two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

TEXTS = ["Tim Cook said Apple would open an office in Berlin.", "The battery died in a day."]


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of `pid` in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def config_file(folder: Path, backend: str, dtype: str) -> Path:
    from textlens.server.settings import default_models

    lines = []
    for spec in default_models():
        lines += [
            "[[models]]",
            f'name = "{spec.name}"',
            f'task = "{spec.task}"',
            f'source = "{spec.source}"',
            f"sentences = {str(spec.sentences).lower()}",
            f'backend = "{backend}"',
            f'dtype = "{dtype}"',
            "",
        ]
    path = folder / f"{backend}-{dtype}.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def measure(config: Path, cache: str, release: bool) -> dict[str, Any]:
    from textlens.client import Client
    from textlens.server.process import ServerProcess

    env = {
        "TEXTLENS_CACHE_DIR": cache,
        "TEXTLENS_MEASURE_ENGINES": "at_load",
        "TEXTLENS_RELEASE_TORCH_WEIGHTS": "true" if release else "false",
        "HF_HUB_OFFLINE": "1",
    }
    with ServerProcess(config, env=env) as server, Client(server.target) as client:
        client.sentiment(TEXTS)
        client.entities(TEXTS)
        client.embed(TEXTS)
        client.aspect_sentiment([TEXTS[1]], ["battery"])
        paths = {i.name: f"{i.backend}/{i.dtype}" for i in client.list_models()}
        return {"paths": paths, **proc_status(server.proc.pid)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from textlens.server.runtime.hardware import cpu_info

    cpu = cpu_info()
    print(f"CPU: {cpu.model}; flags: {' '.join(cpu.shown_flags())}", flush=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="textlens-memory-") as tmp:
        folder = Path(tmp)
        cache = str(folder / "cache")
        plan = [
            ("default models, auto", config_file(folder, "auto", "auto"), True),
            ("ONNX float32, torch weights kept", config_file(folder, "onnx", "float32"), False),
            ("ONNX float32, torch weights released", config_file(folder, "onnx", "float32"), True),
        ]
        for _, config, release in plan:  # exports, quantizations and choices made first
            measure(config, cache, release)
        for name, config, release in plan:
            row = {"run": name, **measure(config, cache, release)}
            print(
                f"{name:40} RSS {row['VmRSS']:8.1f} MiB  peak {row['VmHWM']:8.1f} MiB", flush=True
            )
            runs.append(row)
    kept, released = runs[1]["VmRSS"], runs[2]["VmRSS"]
    result = {
        "benchmark": "memory",
        "cpu": cpu.model,
        "cpu_flags": cpu.shown_flags(),
        "python": platform.python_version(),
        "runs": runs,
        "onnx_rss_saved_mib": round(kept - released, 1),
        "onnx_rss_released_over_kept": round(released / kept, 3),
    }
    print(f"\nONNX float32: {kept:.0f} -> {released:.0f} MiB ({kept - released:.0f} MiB less)")
    line = json.dumps(result)
    print(line)
    if args.json:
        args.json.write_text(line + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
