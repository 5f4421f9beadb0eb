"""Sentiment rows/s through DuckDB: the textlens UDFs against the model ceiling and the naive UDF.

    python bench/duckdb_udf.py [--rows 20000] [--duplicates 0.5] [--naive-rows N] [--json out.json]

On the same N synthetic product reviews (textlens.samples.reviews:
1-4 sentences, ~180 characters / ~40 tokens on average), in one run:

1. ceiling   the bare runtime in a Python loop: `Analyzer.sentiment(chunk)` per
             2048 rows, no DuckDB (batched forward passes, nothing else);
2. embedded  `SELECT sentiment(review) FROM reviews`, models in this process;
3. remote    the same SQL through `textlens serve` (a child process) on loopback;
4. naive     what users write first: a per-row (`type='native'`) DuckDB UDF
             calling a transformers `pipeline` over the very same network.

1 and 2 run on the auto path (the engine `backend = "auto"`, `dtype = "auto"`
picks on this machine, `textlens.server.inference`) and again with the same
model pinned to torch float32, in the same run; `entities()` and `embed()`
embedded SQL are compared the same way on `--other-rows` rows. The JSON line
carries the auto/fp32 ratios, the paths chosen and the CPU flags.

All rows are distinct for 1-4; mode 2 runs again on N rows of which
`--duplicates` (default 50%) repeat earlier rows. Every timed SQL run starts
with an empty cache. Prints a table, then one JSON line with the rates and the
ratios 2/1, 3/1, 2/4 and 2(duplicates)/2(unique). On 2 CPU cores the default
run takes about 10 minutes, most of it the naive baseline; `--naive-rows 2000`
times the naive UDF on the first 2000 rows only (its rate is per row anyway).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK = 2048


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def reviews_table(con: Any, name: str, texts: list[str]) -> None:
    import pyarrow as pa

    con.register("_bench_rows", pa.table({"id": range(len(texts)), "review": texts}))
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _bench_rows ORDER BY id")
    con.unregister("_bench_rows")


def sql_labels(con: Any, table: str, function: str = "sentiment") -> list[str]:
    rows = con.execute(f"SELECT {function}(review) FROM {table} ORDER BY id").fetchall()
    return [row[0] for row in rows]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--duplicates", type=float, default=0.5, help="fraction for the dup run")
    parser.add_argument("--naive-rows", type=int, default=None, help="default: all rows")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--other-rows", type=int, default=2000, help="entities()/embed() rows")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import duckdb
    import torch

    from textlens.connectors.duckdb import EmbeddedBackend, register
    from textlens.samples.reviews import review_texts
    from textlens.server.assembly import load_analyzer
    from textlens.server.process import ServerProcess
    from textlens.server.settings import default_models

    n = args.rows
    unique = review_texts(n, seed=args.seed)
    repeated = review_texts(n, seed=args.seed + 1, duplicate_fraction=args.duplicates)
    assert len(set(unique)) == n
    mean_chars = sum(map(len, unique)) / n
    from textlens.server.runtime.hardware import cpu_info

    cpu = cpu_info()
    print(f"CPU flags: {' '.join(cpu.shown_flags())}", flush=True)
    specs = [s for s in default_models() if s.task == "sentiment"]
    others = [s for s in default_models() if s.task in ("ner", "embed")]
    print(
        f"{n} reviews, {mean_chars:.0f} characters on average; loading {specs[0].name}…", flush=True
    )
    analyzer = load_analyzer(specs + others)
    pinned = load_analyzer(
        [s.model_copy(update={"backend": "torch", "dtype": "float32"}) for s in specs + others]
    )
    paths = {i.name: f"{i.backend}/{i.dtype}" for i in analyzer.list_models()}
    print(f"auto paths: {paths}", flush=True)
    results: dict[str, float] = {}

    # 1. ceiling ------------------------------------------------------------------
    def ceiling() -> list[str]:
        out: list[str] = []
        for i in range(0, n, CHUNK):
            out += [r.label for r in analyzer.sentiment(unique[i : i + CHUNK]).result()]
        return out

    analyzer.sentiment(unique[:CHUNK]).result()  # warm-up
    seconds, truth = timed(ceiling)
    results["ceiling"] = n / seconds
    print(f"1 ceiling       {results['ceiling']:8.1f} rows/s", flush=True)
    pinned.sentiment(unique[:CHUNK]).result()
    seconds, fp32_truth = timed(
        lambda: [
            r.label
            for i in range(0, n, CHUNK)
            for r in pinned.sentiment(unique[i : i + CHUNK]).result()
        ]
    )
    results["ceiling_fp32"] = n / seconds
    auto_agreement = sum(a == b for a, b in zip(truth, fp32_truth, strict=True)) / n
    print(
        f"1 ceiling, torch/float32 {results['ceiling_fp32']:8.1f} rows/s "
        f"(auto agrees on {auto_agreement:.2%} of labels)",
        flush=True,
    )

    # 2. embedded -----------------------------------------------------------------
    con = duckdb.connect()
    reviews_table(con, "reviews", unique)
    reviews_table(con, "reviews_dup", repeated)
    reviews_table(con, "warm", unique[:CHUNK])
    with register(con, backend=EmbeddedBackend(analyzer)):
        sql_labels(con, "warm")

    def embedded(table: str) -> tuple[float, list[str], Any]:
        with register(con, backend=EmbeddedBackend(analyzer)) as tl:  # an empty cache
            seconds, labels = timed(lambda: sql_labels(con, table))
            return seconds, labels, tl.stats()

    seconds, labels, _ = embedded("reviews")
    same = sum(a == b for a, b in zip(labels, truth, strict=True)) / n
    assert same >= 0.99, f"embedded SQL agrees with the runtime on only {same:.2%}"
    results["embedded"] = n / seconds
    print(f"2 embedded      {results['embedded']:8.1f} rows/s", flush=True)
    with register(con, backend=EmbeddedBackend(pinned)):
        sql_labels(con, "warm")
    with register(con, backend=EmbeddedBackend(pinned)):
        seconds, _ = timed(lambda: sql_labels(con, "reviews"))
    results["embedded_fp32"] = n / seconds
    print(f"2 embedded, torch/float32 {results['embedded_fp32']:8.1f} rows/s", flush=True)
    other_n = min(args.other_rows, n)
    reviews_table(con, "other_rows", unique[:other_n])
    for function in ("entities", "embed"):
        for label, runtime in (("", analyzer), ("_fp32", pinned)):
            with register(con, backend=EmbeddedBackend(runtime)):
                con.execute(f"SELECT {function}(review) FROM warm LIMIT 256").fetchall()
                seconds, _ = timed(
                    lambda sql=f"SELECT {function}(review) FROM other_rows ORDER BY id": (
                        con.execute(sql).fetchall()
                    )
                )
            results[f"embedded_{function}{label}"] = other_n / seconds
            print(
                f"2 embedded {function}(){label:6} {results[f'embedded_{function}{label}']:8.1f} rows/s",
                flush=True,
            )
    seconds, _, dup_stats = embedded("reviews_dup")
    results["embedded_duplicates"] = n / seconds
    print(
        f"2 embedded, {args.duplicates:.0%} duplicates {results['embedded_duplicates']:8.1f} rows/s "
        f"({dup_stats.computed} texts computed)",
        flush=True,
    )

    # 3. remote -------------------------------------------------------------------
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sentiment.toml"
        spec = specs[0]
        config.write_text(
            f'[[models]]\nname = "{spec.name}"\ntask = "sentiment"\nsource = "{spec.source}"\n'
            f"sentences = {str(spec.sentences).lower()}\n",
            encoding="utf-8",
        )
        with ServerProcess(config) as server:
            with register(con, server.target):
                sql_labels(con, "warm")
            with register(con, server.target, timeout=600):
                seconds, labels = timed(lambda: sql_labels(con, "reviews"))
    same = sum(a == b for a, b in zip(labels, truth, strict=True)) / n
    assert same >= 0.99, f"remote SQL agrees with the runtime on only {same:.2%}"
    results["remote"] = n / seconds
    print(f"3 remote        {results['remote']:8.1f} rows/s", flush=True)

    # 4. naive --------------------------------------------------------------------
    from transformers import pipeline

    served = analyzer.registry.get("sentiment")
    loaded = served.model.loaded
    # The same network object on the same device and dtype as modes 1-3: on a GPU
    # the naive baseline is a per-row GPU call, not a CPU straw man.
    classify = pipeline(
        "text-classification",
        model=loaded.network.hf,
        tokenizer=loaded.tokenizer,
        device=loaded.device,
    )

    def naive_sentiment(text: str) -> str:
        return str(classify(text, truncation=True, max_length=loaded.max_length)[0]["label"])

    con.create_function("naive_sentiment", naive_sentiment, ["VARCHAR"], "VARCHAR")
    naive_n = min(args.naive_rows or n, n)
    reviews_table(con, "naive_rows", unique[:naive_n])
    con.execute("SELECT naive_sentiment(review) FROM warm LIMIT 50").fetchall()  # warm-up
    seconds, naive_labels = timed(lambda: sql_labels(con, "naive_rows", "naive_sentiment"))
    results["naive"] = naive_n / seconds
    agree = sum(a == b for a, b in zip(naive_labels, truth, strict=False)) / naive_n
    print(f"4 naive         {results['naive']:8.1f} rows/s ({naive_n} rows)", flush=True)
    analyzer.close()
    pinned.close()

    ratios = {
        "auto_over_fp32_ceiling": results["ceiling"] / results["ceiling_fp32"],
        "auto_over_fp32_embedded": results["embedded"] / results["embedded_fp32"],
        "auto_over_fp32_entities": results["embedded_entities"] / results["embedded_entities_fp32"],
        "auto_over_fp32_embed": results["embedded_embed"] / results["embedded_embed_fp32"],
        "embedded_over_ceiling": results["embedded"] / results["ceiling"],
        "remote_over_ceiling": results["remote"] / results["ceiling"],
        "embedded_over_naive": results["embedded"] / results["naive"],
        "duplicates_speedup": results["embedded_duplicates"] / results["embedded"],
    }
    targets = {
        "auto_over_fp32_ceiling": 1.0,
        "auto_over_fp32_embedded": 2.0,
        "auto_over_fp32_entities": 1.6,
        "auto_over_fp32_embed": 1.6,
        "embedded_over_ceiling": 0.9,
        "remote_over_ceiling": 0.8,
        "embedded_over_naive": 20.0,
        "duplicates_speedup": 1.8,
    }
    print()
    print(f"{'mode':36} {'rows/s':>9}")
    print(f"{'1 ceiling (runtime loop, no SQL)':36} {results['ceiling']:9.1f}")
    print(f"{'2 SELECT sentiment() embedded':36} {results['embedded']:9.1f}")
    print(f"{'3 SELECT sentiment() remote':36} {results['remote']:9.1f}")
    print(f"{'4 naive per-row pipeline UDF':36} {results['naive']:9.1f}")
    dup_label = f"2 embedded, {args.duplicates:.0%} duplicates"
    print(f"{dup_label:36} {results['embedded_duplicates']:9.1f}")
    print()
    for name, value in ratios.items():
        verdict = "ok" if value >= targets[name] else "below target"
        print(f"{name:24} {value:7.3f}  (target >= {targets[name]:g}: {verdict})")
    result = {
        "benchmark": "duckdb_udf",
        "task": "sentiment",
        "model": specs[0].name,
        "rows": n,
        "mean_chars": round(mean_chars, 1),
        "duplicate_fraction": args.duplicates,
        "naive_rows": naive_n,
        "naive_agreement": round(agree, 4),
        "auto_paths": paths,
        "auto_label_agreement_with_fp32": round(auto_agreement, 4),
        "cpu_flags": cpu.shown_flags(),
        "other_rows": other_n,
        **{f"{k}_rows_per_s": round(v, 1) for k, v in results.items()},
        **{k: round(v, 3) for k, v in ratios.items()},
        "device": str(loaded.device),
        "dtype": served.info().dtype,
        "backend": served.info().backend,
        "gpu": torch.cuda.get_device_name(loaded.device) if loaded.device.type == "cuda" else None,
        "torch_threads": torch.get_num_threads(),
        "duckdb_threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
        "cpus": os.cpu_count(),
        "duckdb": duckdb.__version__,
        "python": platform.python_version(),
    }
    con.close()
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
