"""Semantic search over a warehouse table: the index against the naive way, and ANN libraries.

    python bench/search.py [--rows 100000] [--million] [--json out.json]

In one run, on this machine (CPU flags printed):

1. A DuckDB file with `--rows` generated reviews. **Naive**: what a user does
   without an index, `SELECT ... array_cosine_similarity(embed(review), embed(q))
   ... ORDER BY score DESC LIMIT 10`, which embeds every row (first query, empty
   cache). **Index**: `create_index` (build time), then `semantic_search(..., 10)`
   for 20 different queries: p50 and p95 latency, query embedding included. The
   ratio is naive / p50.
2. **Refresh** after 1% of the rows changed: how many texts it embedded (counted).
3. **ANN**: usearch (HNSW, the library DuckDB's `vss` extension is built on) and
   faiss-cpu (HNSW, IndexHNSWFlat) over the index's real vectors, and with
   `--million` over 1M vectors (the real ones plus synthetic ones drawn from a
   Gaussian with their mean and covariance). recall@10 against exact search (NumPy),
   query latency p50 (one query at a time), build time, and index memory.

Prints a table and one JSON object (`--json` writes it too). About 7 minutes for
100k rows on 2 cores; `--million` adds the chosen library at 1M (about 12 minutes).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

QUERIES = [
    "the battery died after a week",
    "late delivery and poor packaging",
    "great screen, sharp and bright",
    "customer service never answered",
    "too expensive for what it does",
    "the sound is muffled and quiet",
    "setup was quick and easy",
    "it broke after two days",
    "lovely design, feels premium",
    "the app keeps crashing",
    "arrived damaged, asked for a refund",
    "works fine but the fan is loud",
    "best purchase this year",
    "the camera is blurry at night",
    "instructions were confusing",
    "keyboard keys stick",
    "fast charging works well",
    "the size is smaller than expected",
    "returned it, not worth the money",
    "comfortable to wear all day",
]
K = 10


def timed(work: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = work()
    return time.perf_counter() - start, out


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ matrix.T
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def recall(matrix: np.ndarray, queries: np.ndarray, found: np.ndarray, truth: np.ndarray) -> float:
    """Share of the k found that belong in the exact top k. Generated reviews repeat
    (templates), so several rows tie at the k-th score: a found row whose score
    reaches the k-th exact score is a right answer whichever tied row exact listed."""
    hits = []
    for q, f, t in zip(queries, found, truth, strict=True):
        kth = float(matrix[t[-1]] @ q)
        f = f[f >= 0]
        hits.append(np.sum(matrix[f] @ q >= kth - 1e-6) / len(t))
    return float(np.mean(hits))


EF = (32, 64, 128, 256, 512)


def searched(search: Any, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    latencies, found = [], []
    for q in queries:
        seconds, ids = timed(lambda q=q: search(q))
        latencies.append(seconds)
        found.append(np.asarray(ids, dtype=np.int64))
    return latencies, np.stack(found)


def ann_usearch(matrix: np.ndarray, dtype: str) -> tuple[float, int, Any, Any]:
    """(build s, bytes, search(q), set_ef(ef)): HNSW, 16 links, ef_construction 128."""
    from usearch.index import Index

    index = Index(
        ndim=matrix.shape[1], metric="cos", dtype=dtype, connectivity=16, expansion_add=128
    )
    build, _ = timed(lambda: index.add(np.arange(len(matrix)), matrix, log=False, threads=0))

    def set_ef(ef: int) -> None:
        index.expansion_search = ef

    return build, int(index.memory_usage), lambda q: index.search(q, K).keys, set_ef


def ann_faiss(matrix: np.ndarray) -> tuple[float, int, Any, Any]:
    import faiss

    index = faiss.IndexHNSWFlat(matrix.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 128
    build, _ = timed(lambda: index.add(matrix))

    def set_ef(ef: int) -> None:
        index.hnsw.efSearch = ef

    size = len(faiss.serialize_index(index))
    return build, size, lambda q: index.search(q[None, :], K)[1][0], set_ef


def ann_rows(
    label: str, matrix: np.ndarray, queries: np.ndarray, only_chosen: bool = False
) -> list[dict[str, Any]]:
    """Every library at 100k; at 1M only the chosen one (each 1M build takes minutes)."""
    truth_s, truth = timed(lambda: exact_top(matrix, queries, K))
    rows = []
    libraries = [
        ("usearch HNSW f16", lambda: ann_usearch(matrix, "f16")),
        ("usearch HNSW i8", lambda: ann_usearch(matrix, "i8")),
        ("faiss HNSWFlat f32", lambda: ann_faiss(matrix)),
    ]
    for name, build in libraries[:1] if only_chosen else libraries:
        build_s, size, search, set_ef = build()
        for ef in EF:
            set_ef(ef)
            searched(search, queries[:5])  # warm
            latencies, found = searched(search, queries)
            rows.append(
                {
                    "vectors": label,
                    "library": name,
                    "ef_search": ef,
                    "recall_at_10": recall(matrix, queries, found, truth),
                    "p50_ms": statistics.median(latencies) * 1000,
                    "build_s": build_s,
                    "index_mib": size / 2**20,
                    "exact_numpy_ms_per_query": truth_s / len(queries) * 1000,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def synthetic(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n vectors from a Gaussian with the real vectors' mean and covariance, unit length."""
    rng = np.random.default_rng(seed)
    mean = real.mean(axis=0)
    cov = np.cov(real, rowvar=False)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = rng.multivariate_normal(mean, cov, size=min(100_000, n - start))
        out[start : start + len(block)] = block
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="ANN at 1M vectors as well")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--save-vectors", type=Path, default=None, help="keep the vectors (.npz) for --ann-only"
    )
    parser.add_argument(
        "--ann-only", type=Path, default=None, help="ANN part only, on vectors a run saved"
    )
    args = parser.parse_args()
    if args.ann_only:
        saved = np.load(args.ann_only)
        ann_part(saved["matrix"], saved["queries"], args, {"rows": len(saved["matrix"])})
        return

    import duckdb

    from textlens.connectors.duckdb import register
    from textlens.connectors.duckdb.search import create_index, refresh_index
    from textlens.samples.reviews import review_texts
    from textlens.server.runtime.hardware import cpu_info

    cpu = cpu_info()
    print(f"CPU: {cpu.model}; flags: {' '.join(cpu.shown_flags())}", flush=True)
    result: dict[str, Any] = {
        "cpu": cpu.model,
        "cpu_flags": cpu.shown_flags(),
        "python": platform.python_version(),
        "rows": args.rows,
    }
    with tempfile.TemporaryDirectory(prefix="textlens-search-") as tmp:
        con = duckdb.connect(str(Path(tmp) / "w.duckdb"))
        con.execute("SET enable_progress_bar = false")
        texts = review_texts(args.rows, seed=21)
        con.execute("CREATE TABLE reviews(id INTEGER, review VARCHAR)")
        con.executemany("INSERT INTO reviews VALUES (?, ?)", list(enumerate(texts)))

        naive_reg = register(con)  # its own cache, empty: every row is embedded
        naive_sql = (
            "SELECT id, array_cosine_similarity(embed(review), embed(?)) AS score "
            "FROM reviews ORDER BY score DESC, id LIMIT 10"
        )
        naive_s, naive_top = timed(lambda: con.execute(naive_sql, [QUERIES[0]]).fetchall())
        naive_reg.close()
        print(f"naive: {naive_s:.1f} s for one query over {args.rows:,} rows", flush=True)

        reg = register(con)  # a fresh cache: the index build embeds every row too
        build_s, built = timed(
            lambda: create_index(
                reg, "reviews", "reviews", "id", "review", ann_mode="on", progress=False
            )
        )
        latencies = []
        first = None
        for query in QUERIES:
            seconds, rows = timed(
                lambda query=query: con.execute(
                    "SELECT id, score FROM semantic_search('reviews', ?, 10)", [query]
                ).fetchall()
            )
            latencies.append(seconds)
            first = first or rows
        assert first is not None and [r[0] for r in first] == [r[0] for r in naive_top]
        p50, p95 = statistics.median(latencies), sorted(latencies)[int(0.95 * len(latencies)) - 1]
        print(
            f"index build {build_s:.1f} s; semantic_search p50 {p50 * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms; naive / p50 = {naive_s / p50:,.0f}x",
            flush=True,
        )
        # semantic_search_ann through SQL: the graph `create_index` built (ann='auto' from
        # 100k rows; 'on' below that), its answers against the exact ones.
        ann_latencies, overlap = [], []
        for query in QUERIES:
            exact = {
                r[0]
                for r in con.execute(
                    "SELECT id FROM semantic_search('reviews', ?, 10)", [query]
                ).fetchall()
            }
            seconds, rows = timed(
                lambda query=query: con.execute(
                    "SELECT id, score FROM semantic_search_ann('reviews', ?, 10)", [query]
                ).fetchall()
            )
            ann_latencies.append(seconds)
            overlap.append(len({r[0] for r in rows} & exact) / 10)
        ann_p50 = statistics.median(ann_latencies)
        print(
            f"semantic_search_ann p50 {ann_p50 * 1000:.1f} ms, recall@10 against "
            f"semantic_search {statistics.mean(overlap):.3f}",
            flush=True,
        )
        result.update(
            {
                "search_ann_p50_ms": ann_p50 * 1000,
                "search_ann_recall_at_10": statistics.mean(overlap),
            }
        )

        changed = args.rows // 100
        con.execute("UPDATE reviews SET review = review || ' (edited)' WHERE id % 100 = 7")
        refresh_s, refreshed = timed(lambda: refresh_index(reg, "reviews", progress=False))
        print(
            f"refresh after {changed:,} changed rows: embedded {refreshed.computed:,} "
            f"texts in {refresh_s:.1f} s",
            flush=True,
        )
        result.update(
            {
                "naive_query_s": naive_s,
                "build_s": build_s,
                "vectors": built.vectors,
                "search_p50_ms": p50 * 1000,
                "search_p95_ms": p95 * 1000,
                "naive_over_p50": naive_s / p50,
                "refresh_changed_rows": changed,
                "refresh_embedded": refreshed.computed,
                "refresh_s": refresh_s,
            }
        )
        matrix = np.asarray(
            con.sql('SELECT vector FROM textlens_index."reviews" ORDER BY id')
            .to_arrow_table()
            .column(0)
            .combine_chunks()
            .flatten(),
            dtype=np.float32,
        ).reshape(-1, built_dim(con))
        # ANN queries: 200 reviews from another seed ("reviews like this one").
        held_out = review_texts(200, seed=99)
        query_vectors = np.asarray(
            [
                v
                for (v,) in con.execute(
                    "SELECT embed(t) FROM unnest(?::VARCHAR[]) u(t)", [held_out]
                ).fetchall()
            ],
            dtype=np.float32,
        )
        reg.close()
        con.close()
    if args.save_vectors:
        np.savez(args.save_vectors, matrix=matrix, queries=query_vectors)
    ann_part(matrix, query_vectors, args, result)


def ann_part(
    matrix: np.ndarray, query_vectors: np.ndarray, args: argparse.Namespace, result: dict[str, Any]
) -> None:
    from textlens.server.runtime.hardware import cpu_info

    result.setdefault("cpu_flags", cpu_info().shown_flags())
    ann = ann_rows(f"{len(matrix) // 1000}k real", matrix, query_vectors)
    if args.million:
        big = np.concatenate([matrix, synthetic(matrix, 1_000_000 - len(matrix))])
        ann += ann_rows("1M (real + Gaussian)", big, query_vectors, only_chosen=True)
    result["ann"] = ann
    print("\n| vectors | library | ef | recall@10 | p50 ms | build s | index MiB |")
    print("|---|---|---|---|---|---|---|")
    for row in ann:
        print(
            f"| {row['vectors']} | {row['library']} | {row['ef_search']} | "
            f"{row['recall_at_10']:.3f} | "
            f"{row['p50_ms']:.2f} | {row['build_s']:.1f} | {row['index_mib']:.0f} |"
        )
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


def built_dim(con: Any) -> int:
    return int(con.execute("SELECT dim FROM textlens_index.catalog").fetchall()[0][0])


if __name__ == "__main__":
    sys.exit(main())
