"""Sentiment rows/s: in-process runtime vs the same model through gRPC on loopback.

    python bench/serve_throughput.py [--rows 4096] [--repeats 3] [--json out.json]

Both sides run the same default sentiment model on the same rows in one run;
the in-process number is the baseline and the ratio is grpc / in-process.
Prints one JSON object (machine-readable) after a human-readable table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _reviews import reviews


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=2048, help="rows per RPC (DuckDB sends 2048)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from textlens.client import Client
    from textlens.server.assembly import load_analyzer
    from textlens.server.process import ServerProcess

    rows = reviews(args.rows)
    analyzer = load_analyzer()

    def in_process() -> object:
        return [
            analyzer.sentiment(rows[i : i + args.chunk]).result()
            for i in range(0, len(rows), args.chunk)
        ]

    local = timed(in_process, args.repeats)
    analyzer.close()

    with (
        ServerProcess() as server,
        Client(server.target, timeout=600, batch_size=args.chunk) as client,
    ):
        remote = timed(lambda: client.sentiment(rows), args.repeats)

    local_rps = len(rows) / statistics.median(local)
    remote_rps = len(rows) / statistics.median(remote)
    result = {
        "benchmark": "serve_throughput",
        "task": "sentiment",
        "rows": len(rows),
        "chunk": args.chunk,
        "repeats": args.repeats,
        "in_process_rows_per_s": round(local_rps, 1),
        "grpc_rows_per_s": round(remote_rps, 1),
        "ratio_grpc_over_in_process": round(remote_rps / local_rps, 3),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(f"{'mode':14} {'rows/s':>10}")
    print(f"{'in-process':14} {local_rps:10.1f}")
    print(f"{'gRPC loopback':14} {remote_rps:10.1f}")
    print(f"ratio gRPC / in-process: {remote_rps / local_rps:.3f}")
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
