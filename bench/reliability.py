"""Reliability figures of issue 22: work after a cancel, small calls beside bulk work.

    python bench/reliability.py [--texts 2048] [--cancel-after 5] [--seconds 12] [--json out.json]

(a) cancelled call: a `textlens serve` child serving the packaged sentiment
    model by sentence gets one request of `--texts` texts x 64 short
    sentences (one model row per sentence); once its forward passes have
    run for `--cancel-after` s the client cancels it. Measured: the server
    process's CPU seconds from the cancel until it is idle again, the rows it
    computed, and a 1-text call right after. (Before issue 22 the server
    computed every remaining row: the outside tester measured 282 s of CPU
    after a cancel of 131,072 rows.)
(b) 1-text Sentiment calls, one after another for `--seconds` s each: alone;
    beside bulk Sentiment calls on the same model; beside bulk Embed calls on
    another model, and beside bulk Embed and Entities calls on two other
    models, each with the engines' CPU lock and, in turns, with a plain lock
    instead (half the time each, twice); p50/p99 each. In an in-process
    server, so the lock can be swapped. Passes are cut to `PASS_SECONDS` in
    all of these (the JSON has the tokens per pass reached). Then "before":
    the same-model and other-model phases with passes of `max_batch_tokens`
    on the plain lock, the scheduling before issue 22.
(c) hostile model names: `--hostile-calls` unauthenticated calls to a
    `textlens serve` child with a read token and metrics on, each naming a
    unique 1 KB model with a newline in it; `/metrics` size and scrape time
    before and after (the outside tester: 17 KB -> 13 MB after 3,000).

Prints the CPU flags first and one JSON object last (`--json` writes it too).
The packaged default models: sentiment-minilm (by sentence), minilm (embed),
ner-minilm; about 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _reviews import reviews

SENTENCES = 64
#: Reviews per bulk call beside the small ones (~1,000 sentence rows for sentiment).
BULK_TEXTS = 256
SMALL_TEXT = "The battery died after a day. Support never answered."
SENTIMENT_TOML = """
[[models]]
name = "sentiment-minilm"
task = "sentiment"
source = "builtin:sentiment-minilm"
sentences = true
"""


def document(i: int) -> str:
    """One text of `SENTENCES` short sentences (the issue's 2.9 MB request at 2,048 texts)."""
    return " ".join(f"Item {i} sentence {k} works well." for k in range(SENTENCES))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rows_computed(metrics_port: int, model: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as page:
        body = page.read().decode()
    found = re.search(rf'^textlens_batch_rows_sum\{{model="{model}"\}} (\S+)$', body, re.M)
    return float(found.group(1)) if found else 0.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- (a) the cancelled call ------------------------------------------------
def cancelled_call(n_texts: int, cancel_after: float) -> dict[str, Any]:
    """CPU the server spends after a client cancels a big sentence-mode request."""
    import grpc

    from textlens.client import Client
    from textlens.server.process import ServerProcess
    from textlens.v1 import textlens_pb2 as pb
    from textlens.v1 import textlens_pb2_grpc as pb_grpc

    texts = [document(i) for i in range(n_texts)]
    metrics_port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sentiment.toml"
        config.write_text(SENTIMENT_TOML, encoding="utf-8")
        server = ServerProcess(config, env={"TEXTLENS_METRICS_PORT": str(metrics_port)})
    pid = server.proc.pid
    try:
        with Client(server.target, timeout=60) as client:
            client.sentiment([SMALL_TEXT])  # warm
        rows_before = rows_computed(metrics_port, "sentiment-minilm")
        with grpc.insecure_channel(
            server.target, options=[("grpc.max_send_message_length", 64 << 20)]
        ) as channel:
            stub = pb_grpc.TextAnalysisStub(channel)
            sent = time.monotonic()
            call = stub.Sentiment.future(pb.SentimentRequest(texts=texts), timeout=3600)
            while rows_computed(metrics_port, "sentiment-minilm") == rows_before:
                time.sleep(0.05)  # split into sentences and tokenized; the passes start now
            first_pass = time.monotonic() - sent
            time.sleep(cancel_after)
            rows_at_cancel = rows_computed(metrics_port, "sentiment-minilm") - rows_before
            call.cancel()
            cancelled = time.monotonic()
            cpu_at_cancel = process_cpu_seconds(pid)
            # Idle: under 0.05 CPU seconds in the last second; give up after 10 minutes.
            samples = [(cancelled, cpu_at_cancel)]
            while time.monotonic() - cancelled < 600:
                time.sleep(0.25)
                samples.append((time.monotonic(), process_cpu_seconds(pid)))
                recent = [s for s in samples if s[0] >= samples[-1][0] - 1.0]
                if samples[-1][0] - cancelled >= 1.0 and recent[-1][1] - recent[0][1] < 0.05:
                    break
            busy_until = max(
                (t2 for (_, c), (t2, c2) in itertools.pairwise(samples) if c2 - c >= 0.02),
                default=cancelled,
            )
        cpu_after = samples[-1][1] - cpu_at_cancel
        rows_total = rows_computed(metrics_port, "sentiment-minilm") - rows_before
        with Client(server.target, timeout=60) as client:
            started = time.perf_counter()
            client.sentiment([SMALL_TEXT])
            next_call_ms = (time.perf_counter() - started) * 1000
    finally:
        server.stop()
    return {
        "texts": n_texts,
        "rows": n_texts * SENTENCES,
        "request_mb": round(sum(len(t) for t in texts) / 1e6, 2),
        "first_pass_after_s": round(first_pass, 2),
        "cancel_after_s": cancel_after,
        "rows_computed_before_cancel": int(rows_at_cancel),
        "rows_computed": int(rows_total),
        "server_cpu_s_after_cancel": round(cpu_after, 2),
        "server_busy_s_after_cancel": round(busy_until - cancelled, 2),
        "next_1_text_call_ms": round(next_call_ms, 1),
    }


# -- (b) small calls beside bulk work ----------------------------------------
def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "calls": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(p99 * 1000, 1),
    }


def small_calls(target: str, seconds: float, minimum: int = 20) -> list[float]:
    """Latencies of 1-text Sentiment calls, one after another, for `seconds` (>= `minimum`)."""
    from textlens.client import Client

    out: list[float] = []
    with Client(target, timeout=300, retries=0) as client:
        until = time.monotonic() + seconds
        while time.monotonic() < until or len(out) < minimum:
            started = time.perf_counter()
            client.sentiment([SMALL_TEXT])
            out.append(time.perf_counter() - started)
    return out


def beside_bulk(target: str, bulk: str, seconds: float) -> tuple[list[float], int]:
    """Small-call latencies while one client per comma-separated RPC of `bulk`
    ("sentiment", "embed", "entities") sends bulk requests; and how many bulk calls
    completed meanwhile."""
    from textlens.client import Client

    texts = reviews(BULK_TEXTS)
    stop = threading.Event()
    bulk_calls: list[float] = []

    def loop(rpc: str) -> None:
        with Client(target, timeout=600, retries=0) as client:
            call = getattr(client, rpc)
            while not stop.is_set():
                started = time.perf_counter()
                call(texts)
                bulk_calls.append(time.perf_counter() - started)

    threads = [threading.Thread(target=loop, args=(rpc,), daemon=True) for rpc in bulk.split(",")]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the bulk clients are computing
    try:
        samples = small_calls(target, seconds)
    finally:
        stop.set()
        for thread in threads:
            thread.join(600)
    return samples, len(bulk_calls)


def phase(runs: list[tuple[list[float], int]]) -> dict[str, Any]:
    out = percentiles([s for samples, _ in runs for s in samples])
    out["bulk_texts_per_call"] = BULK_TEXTS
    out["bulk_calls"] = sum(n for _, n in runs)
    return out


def use_lock(registry: Any, lock: Any) -> None:
    """Give every engine `lock`: the registry's CpuLock, or a plain lock as before issue 22."""
    for served in registry.models.values():
        engine = served.model.loaded.run
        if getattr(engine, "_lock", None) is not None:
            engine._lock = lock


def small_call_latency(seconds: float) -> dict[str, Any]:
    from textlens.client import Client
    from textlens.server.assembly import load_models
    from textlens.server.runtime import batcher as batcher_module
    from textlens.server.settings import default_models
    from textlens.server.transport.inprocess import InProcessServer

    specs = [s for s in default_models() if s.task in ("sentiment", "embed", "ner")]
    registry = load_models(specs)
    plain = threading.Lock()
    cut = batcher_module.PASS_SECONDS
    models = {m.name: f"{m.task} {m.backend}/{m.dtype}" for m in registry.infos()}
    with InProcessServer(registry) as server:
        small_calls(server.target, 1.0, minimum=5)  # warm
        with Client(server.target, timeout=600) as client:  # each model measures its passes
            client.sentiment(reviews(BULK_TEXTS))
            client.embed(reviews(BULK_TEXTS))
            client.entities(reviews(BULK_TEXTS))
        result = {
            "models": models,
            "alone": percentiles(small_calls(server.target, seconds)),
            "beside_bulk_same_model": phase([beside_bulk(server.target, "sentiment", seconds)]),
        }
        # Other models: CpuLock and a plain lock in turns (half the time each, twice), so
        # drift in the machine's load (2 shared cores) falls on both alike.
        for label, bulk in (("other_model", "embed"), ("two_other_models", "embed,entities")):
            runs: dict[str, list[tuple[list[float], int]]] = {"cpu_lock": [], "plain_lock": []}
            for _ in range(2):
                for name, lock in (("cpu_lock", registry.context.cpu_lock), ("plain_lock", plain)):
                    use_lock(registry, lock)
                    runs[name].append(beside_bulk(server.target, bulk, seconds / 2))
            result[f"beside_bulk_{label}"] = phase(runs["cpu_lock"])
            result[f"beside_bulk_{label}_plain_lock"] = phase(runs["plain_lock"])
        result["pass_tokens"] = {n: m.batcher.pass_tokens() for n, m in registry.models.items()}
        # Before issue 22: passes of max_batch_tokens on a plain lock.
        batcher_module.PASS_SECONDS = 1e9
        try:
            result["before_same_model"] = phase([beside_bulk(server.target, "sentiment", seconds)])
            result["before_other_model"] = phase([beside_bulk(server.target, "embed", seconds)])
        finally:
            batcher_module.PASS_SECONDS = cut
            use_lock(registry, registry.context.cpu_lock)
    return result


# -- (c) hostile model names -------------------------------------------------
def hostile_model_names(calls: int) -> dict[str, Any]:
    """Issue 22 item 2: `/metrics` size and scrape time after `calls` unauthenticated calls,
    each with a unique 1 KB model name containing a newline and a forged log line.

    A `textlens serve` child with a read token and metrics on; the names reach
    the server (gRPC reads the request before the token check is answered), so
    before the fix each became a label set of its own (the outside tester: 17 KB
    -> 13 MB after 3,000, a 49 s scrape after 32 MB names).
    """
    import grpc

    from textlens.server.process import ServerProcess
    from textlens.v1 import textlens_pb2 as pb
    from textlens.v1 import textlens_pb2_grpc as pb_grpc

    metrics_port = free_port()
    token = "bench-read-token-0123456789"

    def scrape() -> tuple[int, float]:
        started = time.perf_counter()
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=120) as page:
            size = len(page.read())
        return size, time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sentiment.toml"
        config.write_text(SENTIMENT_TOML, encoding="utf-8")
        env = {"TEXTLENS_METRICS_PORT": str(metrics_port), "TEXTLENS_READ_TOKENS": f'["{token}"]'}
        with (
            ServerProcess(config, env=env) as server,
            grpc.insecure_channel(server.target) as channel,
        ):
            stub = pb_grpc.TextAnalysisStub(channel)
            stub.Sentiment(
                pb.SentimentRequest(texts=[SMALL_TEXT]),
                metadata=(("authorization", f"Bearer {token}"),),
                timeout=120,
            )
            before, _ = scrape()
            refused: dict[str, int] = {}
            started = time.perf_counter()
            for i in range(calls):
                name = f"m{i:06d}\nstatus=OK identity=ops " + "x" * 1024
                try:
                    stub.Sentiment(pb.SentimentRequest(texts=["x"], model=name[:1024]), timeout=30)
                    refused["OK"] = refused.get("OK", 0) + 1
                except grpc.RpcError as exc:
                    code = exc.code().name
                    refused[code] = refused.get(code, 0) + 1
            seconds = time.perf_counter() - started
            after, scrape_seconds = scrape()
    return {
        "calls": calls,
        "name_bytes": 1024,
        "answers": refused,
        "metrics_bytes_before": before,
        "metrics_bytes_after": after,
        "scrape_seconds_after": round(scrape_seconds, 3),
        "calls_per_second": round(calls / seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=2048, help="texts of the cancelled call")
    parser.add_argument(
        "--cancel-after", type=float, default=5.0, help="seconds of passes before the cancel"
    )
    parser.add_argument("--seconds", type=float, default=12.0, help="per small-call phase")
    parser.add_argument(
        "--hostile-calls", type=int, default=3000, help="unauthenticated calls of (c)"
    )
    parser.add_argument(
        "--skip", choices=["cancel", "latency", "hostile"], action="append", default=[]
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from textlens.server.runtime.hardware import cpu_info

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    cpu = cpu_info()
    print(f"CPU flags: {' '.join(cpu.shown_flags())}", flush=True)
    result: dict[str, Any] = {"benchmark": "reliability"}
    if "cancel" not in args.skip:
        result["cancelled_call"] = cancelled_call(args.texts, args.cancel_after)
        print(f"(a) cancelled call: {json.dumps(result['cancelled_call'])}", flush=True)
    if "latency" not in args.skip:
        result["small_calls"] = small_call_latency(args.seconds)
        for phase, figures in result["small_calls"].items():
            print(f"(b) {phase}: {json.dumps(figures)}", flush=True)
    if "hostile" not in args.skip:
        result["hostile_model_names"] = hostile_model_names(args.hostile_calls)
        print(f"(c) hostile model names: {json.dumps(result['hostile_model_names'])}", flush=True)
    result |= {
        "cpu_flags": cpu.shown_flags(),
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
