"""textlens against the peers a user would pick instead: same texts, same machine, one run.

    python bench/peers.py [--rows 2000] [--data ../shared/data] [--peers-python PY] [--json out]

Embeddings: sentence-transformers (torch, ONNX, ONNX int8 with its own quantization
config for this CPU, OpenVINO, OpenVINO static int8) run by `bench/peers_side.py` in
their own venv (bench/.venv-peers, `make bench` builds it from
bench/peers-requirements.txt), against textlens `Analyzer.embed` and
`SELECT embed(review)` (embedded DuckDB) on the auto path. Quality beside every
speed: mean and lowest cosine to sentence-transformers' float32 vectors, and the
top-10 neighbour overlap (for 200 query texts, how many of the 10 nearest texts by
float32 vectors a path also ranks in its top 10) - what search and recommendations
see.

Sentiment and NER: a Hugging Face `pipeline` over the same merged weights (the
user's first choice, torch float32), textlens pinned to torch/float32, and
textlens auto in-process and through SQL. Sentiment is timed on short review
sentences and on long reviews, with label agreement against textlens float32 and
accuracy on the held-out rows of every source (`--data`: the worst source and
the mean). NER: span Jaccard against textlens float32 and entity F1 on CoNLL-2003
dev. Every path is timed best of three rounds (OpenVINO prepares kernels for each new
batch shape on first sight), every SQL round with an empty cache.
Prints the CPU flags, a markdown table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _peer_tasks import best_of, ner_rows, sentiment_rows, show, sql_rate

from textlens.server.inference.parity import neighbour_overlap

QUERIES = 200
TOP_K = 10
HERE = Path(__file__).resolve().parent


def vector_quality(reference: np.ndarray, vectors: np.ndarray) -> dict[str, float]:
    r = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    c = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    cos = (r * c).sum(axis=1)
    return {
        "mean_cosine": round(float(cos.mean()), 4),
        "min_cosine": round(float(cos.min()), 4),
        "top10_overlap": round(neighbour_overlap(reference, vectors, QUERIES, TOP_K), 4),
    }


def run_peers(python: Path, model_dir: Path, texts: list[str], data: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        cmd = [str(python), str(HERE / "peers_side.py"), "--model", str(model_dir)]
        cmd += ["--texts", str(texts_file), "--out", str(Path(tmp) / "vectors")]
        if data is not None:
            cmd += ["--data", str(data)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not done.stdout.strip():
            raise RuntimeError(f"peers failed ({done.returncode}): {done.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        for row in report["results"]:
            if "vectors" in row:
                row["vectors"] = np.load(row["vectors"])
        return report


COLUMNS = (
    "rows_per_s",
    "mean_cosine",
    "min_cosine",
    "top10_overlap",
    "label_agreement",
    "worst_source_accuracy",
    "mean_source_accuracy",
    "span_jaccard",
    "conll_f1",
)


def print_table(rows: list[dict[str, Any]]) -> None:
    """Markdown, one table per task (the columns that task has)."""
    for task in ("embed", "sentiment", "ner"):
        mine = [r for r in rows if r["task"] == task]
        cols = [c for c in COLUMNS if any(c in r for r in mine)]
        print(f"\n| {task} | texts | " + " | ".join(cols) + " |")
        print("|---|---|" + "---|" * len(cols))
        for r in mine:
            cells = [str(r.get(c, r.get("error", "") if c == "rows_per_s" else "")) for c in cols]
            print(f"| {r['path']} | {r['texts']} | " + " | ".join(cells) + " |")
    print(flush=True)


def ratios(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The targets of issue 26, as ratios measured in this run."""
    out: dict[str, float] = {}
    embed = {r["path"]: r.get("rows_per_s") for r in rows if r["task"] == "embed"}
    peers = [v for k, v in embed.items() if k.startswith("st-") and v and "int8" in k]
    sql = [v for k, v in embed.items() if "SELECT" in k]
    if peers and sql and sql[0]:
        out["sql_embed_over_best_st_int8"] = round(sql[0] / max(peers), 3)
    if peers and len(sql) > 1 and sql[1]:
        out["sql_embed_full_int8_over_best_st_int8"] = round(sql[1] / max(peers), 3)
    for r in rows:
        if r["task"] == "sentiment" and "SELECT" in r["path"]:
            fp32 = next(
                x["rows_per_s"]
                for x in rows
                if x["texts"] == r["texts"] and x["path"].endswith("sentiment (torch/float32)")
            )
            out[f"sql_sentiment_over_torch_fp32 {r['texts']}"] = round(r["rows_per_s"] / fp32, 3)
    return out


def sql_embed_row(
    con: Any, analyzer: Any, label: str, texts: list[str], reference: np.ndarray | None
) -> dict[str, Any]:
    from textlens.connectors.duckdb import EmbeddedBackend

    rate, vectors = sql_rate(con, EmbeddedBackend(analyzer), "embed", texts)
    row = {"task": "embed", "texts": "reviews", "path": f"textlens SELECT embed() {label}"}
    row["rows_per_s"] = round(rate, 1)
    if reference is not None:
        row |= vector_quality(reference, np.asarray(vectors, dtype=np.float32))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument(
        "--peers-python", type=Path, default=HERE / ".venv-peers" / "bin" / "python"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import os

    # The auto paths measured before anything is timed (a background measurement would
    # still be running, and swapping engines, while the first rows are timed).
    os.environ.setdefault("TEXTLENS_MEASURE_ENGINES", "at_load")
    import duckdb

    from textlens.samples.reviews import review_texts
    from textlens.server.assembly import load_analyzer
    from textlens.server.runtime.hardware import cpu_info
    from textlens.server.runtime.loading import minilm_dir
    from textlens.server.settings import default_models

    cpu = cpu_info()
    print(f"CPU: {cpu.model}; flags: {' '.join(cpu.shown_flags())}", flush=True)
    data = args.data if args.data.is_dir() else None
    texts = review_texts(args.rows, seed=7)
    rows: list[dict[str, Any]] = []
    versions: dict[str, Any] = {}

    # Embeddings: the peers first, each in its own venv, while textlens is not loaded.
    reference: np.ndarray | None = None
    if args.peers_python.is_file():
        report = run_peers(args.peers_python, minilm_dir(), texts, data)
        versions = report["versions"]
        for r in report["results"]:
            row = {"task": "embed", "texts": "reviews", "path": r["recipe"]}
            row.update({k: r[k] for k in ("rows_per_s", "build_seconds", "error") if k in r})
            if "vectors" in r:
                reference = r["vectors"] if reference is None else reference
                row.update(vector_quality(reference, r["vectors"]))
            rows.append(show(row))
    else:
        print(f"no peers venv at {args.peers_python} (make bench builds it): peers skipped")

    specs = [s for s in default_models() if s.task in ("sentiment", "ner", "embed")]
    auto = load_analyzer(specs)
    pinned = load_analyzer(
        [s.model_copy(update={"backend": "torch", "dtype": "float32"}) for s in specs]
    )
    paths = {i.task: f"{i.backend}/{i.dtype}" for i in auto.list_models()}
    print(f"textlens auto paths here: {paths}", flush=True)
    con = duckdb.connect()

    def textlens_embed(analyzer: Any) -> Callable[[], np.ndarray]:
        return lambda: np.stack(analyzer.embed(texts, "minilm").result())

    auto_embed = textlens_embed(auto)
    auto_embed()
    for name, fn in (
        (f"textlens Analyzer.embed ({paths['embed']})", auto_embed),
        ("textlens Analyzer.embed (torch/float32)", textlens_embed(pinned)),
    ):
        fn()
        seconds, vectors = best_of(fn)
        row = {
            "task": "embed",
            "texts": "reviews",
            "path": name,
            "rows_per_s": round(len(texts) / seconds, 1),
        }
        rows.append(
            show(row | (vector_quality(reference, vectors) if reference is not None else {}))
        )
    rows.append(show(sql_embed_row(con, auto, f"({paths['embed']})", texts, reference)))
    # Like for like with sentence-transformers' OpenVINO int8 (every MatMul in int8): the
    # recipe `auto` leaves out for embeddings (validation: top-10 overlap 0.88 < 0.9).
    embed_spec = next(s for s in specs if s.task == "embed")
    full_int8 = load_analyzer(
        [embed_spec.model_copy(update={"backend": "openvino", "dtype": "int8"})]
    )
    variant = full_int8.registry.get("embed").model.loaded.selection.variant
    label = f"(openvino/int8 {variant}, pinned)"
    rows.append(show(sql_embed_row(con, full_int8, label, texts, reference)))
    full_int8.close()

    rows += sentiment_rows(auto, pinned, con, texts, data, paths["sentiment"])
    rows += ner_rows(auto, pinned, con, data, args.rows, paths["ner"])
    auto.close()
    pinned.close()
    print_table(rows)
    result = {
        "benchmark": "peers",
        "cpu": cpu.model,
        "cpu_flags": cpu.shown_flags(),
        "auto_paths": paths,
        "peer_versions": versions,
        "rows": args.rows,
        "results": rows,
        "ratios": ratios(rows),
    }
    line = json.dumps(result)
    print(line)
    if args.json:
        args.json.write_text(line + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
