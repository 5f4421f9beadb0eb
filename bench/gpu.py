"""GPU numbers in one short run: CUDA bf16/fp16 rows/s through gRPC from a DuckDB client.

    python bench/gpu.py [--rows 20000] [--naive-rows 1000] [--json out.json]

Needs a CUDA torch. Starts `textlens serve` on the GPU (the default models,
`device = "auto"` = CUDA, `dtype = "auto"` = bf16, fp16 without bf16), then
from a remote DuckDB registration on loopback times, on generated texts cut to
about 64 tokens: `sentiment()`, `entities()` and `embed()`; then the naive
per-row transformers `pipeline` UDF on the same GPU and the same network in
this process, for the ratio (target >= 20x). Prints a table and a JSON line.
`make bench-gpu` runs it and then the GPU test suite (`pytest -m gpu`).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any


def texts_of_64_tokens(n: int, tokenizer: Any) -> list[str]:
    from textlens.samples.reviews import review_texts

    out = []
    for text in review_texts(n, seed=5):
        while len(tokenizer(text)["input_ids"]) < 64:
            text = f"{text} {text}"
        ids = tokenizer(text, truncation=True, max_length=64)["input_ids"]
        out.append(tokenizer.decode(ids, skip_special_tokens=True))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--naive-rows", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import duckdb
    import pyarrow as pa
    import torch
    from transformers import AutoTokenizer, pipeline

    from textlens.connectors.duckdb import register
    from textlens.server.process import ServerProcess
    from textlens.server.runtime.loading import load_model, minilm_dir

    if not torch.cuda.is_available():
        print(
            "bench/gpu.py: no CUDA device here (torch.cuda.is_available() is False)",
            file=sys.stderr,
        )
        return 2
    gpu = torch.cuda.get_device_name(0)
    texts = texts_of_64_tokens(args.rows, AutoTokenizer.from_pretrained(minilm_dir()))
    con = duckdb.connect()
    con.register("_rows", pa.table({"id": range(len(texts)), "review": texts}))
    con.execute("CREATE TABLE reviews AS SELECT * FROM _rows")
    results: dict[str, Any] = {"gpu": gpu, "rows": len(texts), "tokens_per_row": 64}
    with ServerProcess() as server, register(con, server.target, timeout=600) as tl:
        results["paths"] = {i.name: f"{i.device} {i.backend}/{i.dtype}" for i in tl.models()}
        for function in ("sentiment", "entities", "embed"):
            con.execute(f"SELECT {function}(review) FROM reviews LIMIT 4096").fetchall()
            tl.cache.clear()
            started = time.perf_counter()
            con.execute(f"SELECT {function}(review) FROM reviews").fetchall()
            rate = len(texts) / (time.perf_counter() - started)
            results[f"{function}_rows_per_s"] = round(rate, 1)
            print(f"{function:10} {rate:10.1f} rows/s ({gpu})", flush=True)
    loaded = load_model(
        "builtin:sentiment-minilm", "sentiment", torch.device("cuda"), torch.bfloat16, None
    )
    classify = pipeline(
        "text-classification", model=loaded.network.hf, tokenizer=loaded.tokenizer, device=0
    )
    con.create_function(
        "naive", lambda t: classify(t, truncation=True)[0]["label"], ["VARCHAR"], "VARCHAR"
    )
    con.execute("SELECT naive(review) FROM reviews LIMIT 50").fetchall()
    started = time.perf_counter()
    con.execute(f"SELECT naive(review) FROM reviews LIMIT {args.naive_rows}").fetchall()
    naive = args.naive_rows / (time.perf_counter() - started)
    results["naive_rows_per_s"] = round(naive, 1)
    results["sentiment_over_naive"] = round(results["sentiment_rows_per_s"] / naive, 2)
    results["python"] = platform.python_version()
    results["torch"] = torch.__version__
    print(
        f"naive per-row pipeline UDF {naive:.1f} rows/s; ratio {results['sentiment_over_naive']}x (target >= 20)"
    )
    print(json.dumps(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
