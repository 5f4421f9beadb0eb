"""What the GPU's forward pass reaches: precision, attention kernel, token budget, padding.

    python bench/gpu_kernels.py [--device cuda] [--rows 4096] [--json out.json]

In-process, on the default sentiment network (MiniLM-L6), over generated reviews:
for float16 and bfloat16 (float32 as the baseline), for torch's SDPA attention
(flash / memory-efficient kernels) and the eager one, for passes of 4,096 /
16,384 / 65,536 padded tokens, with rows sorted by length (what the batcher
does: almost no padding) and in arrival order (every pass padded to its
longest row). Each cell: rows/s, tokens/s, achieved TFLOP/s (2 x parameters x
tokens, attention excluded) and its fraction of this device's measured dense
matmul peak in that dtype (8192^3 `torch.mm`). `make bench-gpu` runs it; with
`--device cpu --rows 256` it runs anywhere (a smoke check of the script itself).
Prints the device, a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

BUDGETS = (4096, 16384, 65536)


def matmul_peak(torch: Any, device: Any, dtype: Any, n: int) -> float:
    """TFLOP/s of the best of 5 n x n x n matmuls."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(5):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e12


def passes(lengths: list[int], order: list[int], budget: int) -> list[list[int]]:
    out: list[list[int]] = [[]]
    for i in order:
        batch = out[-1]
        width = max([lengths[j] for j in batch] + [lengths[i]])
        if batch and width * (len(batch) + 1) > budget:
            out.append([])
        out[-1].append(i)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import torch
    import transformers

    from textlens.samples.reviews import review_texts
    from textlens.server.runtime.hardware import cpu_info
    from textlens.server.runtime.loading import build_network

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: run with --device cpu for a smoke check", file=sys.stderr)
        return 2
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_info().model
    print(f"device: {name}; CPU flags: {' '.join(cpu_info().shown_flags())}", flush=True)
    network, tokenizer, *_ = build_network("builtin:sentiment-minilm", "sentiment")
    network.to(device).eval()
    params = sum(p.numel() for p in network.hf.parameters())
    texts = review_texts(args.rows, seed=3)
    encoded = tokenizer(texts, truncation=True, max_length=256)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    n = 8192 if device.type == "cuda" else 1024
    dtypes = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    peaks = {k: matmul_peak(torch, device, v, n) for k, v in dtypes.items()}
    print("matmul peak TFLOP/s: " + ", ".join(f"{k} {v:.1f}" for k, v in peaks.items()))
    rows = []
    for dtype_name, dtype in dtypes.items():
        for attention in ("sdpa", "eager"):
            network.hf.config._attn_implementation = attention  # read at every forward
            for budget in BUDGETS:
                for order_name in ("length-sorted", "arrival"):
                    order = list(range(len(texts)))
                    if order_name == "length-sorted":
                        order.sort(key=lambda i: lengths[i])
                    row = run_cell(
                        torch,
                        network,
                        encoded,
                        lengths,
                        passes(lengths, order, budget),
                        device,
                        dtype,
                    )
                    tflops = 2 * params * row.pop("tokens") / row["seconds"] / 1e12
                    row.update(
                        dtype=dtype_name,
                        attention=attention,
                        budget=budget,
                        order=order_name,
                        tflops=round(tflops, 2),
                        peak_fraction=round(tflops / peaks[dtype_name], 3),
                    )
                    rows.append(row)
                    print(
                        f"{dtype_name:8} {attention:5} {budget:6} {order_name:13} "
                        f"{row['rows_per_s']:10.1f} rows/s {tflops:7.2f} TFLOP/s "
                        f"({row['peak_fraction']:.1%} of peak)",
                        flush=True,
                    )
    best = max(rows, key=lambda r: r["rows_per_s"])
    result = {
        "benchmark": "gpu_kernels",
        "device": name,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "matmul_peak_tflops": {k: round(v, 2) for k, v in peaks.items()},
        "rows": args.rows,
        "best": best,
        "results": rows,
    }
    line = json.dumps(result)
    print(line)
    if args.json:
        args.json.write_text(line + "\n", encoding="utf-8")
    return 0


def run_cell(
    torch: Any,
    network: Any,
    encoded: list[list[int]],
    lengths: list[int],
    batches: list[list[int]],
    device: Any,
    dtype: Any,
) -> dict[str, Any]:
    """rows/s of one configuration (one warm-up pass, then every pass once)."""
    tensors = []
    for batch in batches:
        width = max(lengths[i] for i in batch)
        ids = torch.zeros(len(batch), width, dtype=torch.long)
        mask = torch.zeros(len(batch), width, dtype=torch.long)
        for r, i in enumerate(batch):
            ids[r, : lengths[i]] = torch.tensor(encoded[i])
            mask[r, : lengths[i]] = 1
        tensors.append((ids.to(device), mask.to(device)))
    autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)
    with torch.inference_mode(), autocast:
        network(*tensors[0])
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        for ids, mask in tensors:
            network(ids, mask)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
    computed = sum(int(ids.numel()) for ids, _ in tensors)
    return {
        "rows_per_s": round(len(lengths) / seconds, 1),
        "tokens_per_s": round(sum(lengths) / seconds, 1),
        "padding": round(1 - sum(lengths) / computed, 3),
        "seconds": seconds,
        "tokens": computed,
    }


if __name__ == "__main__":
    sys.exit(main())
