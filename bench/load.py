"""Mixed-RPC load: N clients for M seconds against one server, against a 1-client baseline.

    python bench/load.py [--clients 4] [--seconds 10] [--batch 16] [--aio-clients 0]
                         [--target host:port | --server process|inprocess [--config F]]
                         [--baseline-seconds S] [--retries 0] [--json out.json] [--strict]

Every client loops over all data RPCs (Sentiment, AspectSentiment, Entities,
Embed, Classify) plus ListModels and the standard health Check, each data call
on 1..`--batch` generated reviews, and checks the shape of every answer. First
one client runs alone for the baseline, then `--clients` run at once (the last
`--aio-clients` of them `AsyncClient`s, two calls in flight each), in the same
run against the same server. Prints a table, then one JSON line: calls,
texts/s, p50/p95/p99 latency, failures by status code (a wrong answer counts
as WRONG_ANSWER), per-RPC latency, and the ratios N clients / 1 client. Without
`--target` it starts `textlens serve` as a child process (`--server process`,
the default: clients and server do not share a GIL) or in this process.

`run_load` is also the driver of tests/reliability/test_load.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _reviews import PRODUCTS, reviews

OPS = ("sentiment", "aspect_sentiment", "entities", "embed", "classify", "list_models", "health")
ASPECTS = [*PRODUCTS, "battery", "screen", "price", "support", "shipping", "app"]
LABELS = ["praise", "complaint", "delivery", "quality"]
#: Client error class -> the gRPC status it stands for (the server's one error table).
CODES = {
    "InvalidInput": "INVALID_ARGUMENT",
    "UnknownModel": "INVALID_ARGUMENT",
    "WrongTask": "INVALID_ARGUMENT",
    "TextTooLong": "INVALID_ARGUMENT",
    "TooManyTexts": "INVALID_ARGUMENT",
    "Overloaded": "RESOURCE_EXHAUSTED",
    "ShuttingDown": "UNAVAILABLE",
    "ServerUnavailable": "UNAVAILABLE",
    "DeadlineExceeded": "DEADLINE_EXCEEDED",
    "ModelLoadError": "FAILED_PRECONDITION",
    "Unauthenticated": "UNAUTHENTICATED",
    "PermissionDenied": "PERMISSION_DENIED",
}


@dataclass(frozen=True)
class Call:
    op: str
    seconds: float
    texts: int
    code: str  # "OK", a gRPC status name, WRONG_ANSWER or an exception type
    error: str = ""


def code_of(exc: BaseException) -> str:
    """The status a client exception stands for (the base class names it in its message)."""
    name = type(exc).__name__
    if name in CODES:
        return CODES[name]
    match = re.search(r"\(([A-Z_]+):", str(exc))
    return match.group(1) if match else name


def plan(op: str, chunk: list[str], rng: random.Random) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments of one call of `op` (a Client method name)."""
    if op == "aspect_sentiment":
        return (chunk, [rng.choice(ASPECTS) for _ in chunk]), {}
    if op == "embed":
        return (chunk,), {"dtype": rng.choice(["float32", "float16"])}
    if op == "classify":
        return (chunk,), {"labels": LABELS, "hypothesis_template": "This review is about {}."}
    if op in ("list_models", "health"):
        return (), {}
    return (chunk,), {}


def check(op: str, chunk: list[str], out: Any) -> int:
    """Texts answered; raises AssertionError on an answer of the wrong shape."""
    if op == "list_models":
        assert out and all(m.name and m.version for m in out), out
        return 0
    if op == "health":
        assert out is True, "health check: not SERVING"
        return 0
    assert len(out) == len(chunk), (op, len(out), len(chunk))
    if op == "embed":
        assert all(v is not None and v.ndim == 1 and v.size > 0 for v in out)
    elif op == "classify":
        assert all(r is not None and r.label in LABELS for r in out)
    elif op != "aspect_sentiment":  # aspects not mentioned are None
        assert all(r is not None for r in out), op
    return len(chunk)


@dataclass
class Worker:
    """One client's loop; its own list of calls (no lock on the hot path)."""

    index: int
    texts: Sequence[str]
    batch: int
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.index)
        self.pool = list(self.texts)
        self.step = self.rng.randrange(len(OPS))

    def next(self) -> tuple[str, list[str]]:
        op = OPS[self.step % len(OPS)]
        self.step += 1
        return op, self.rng.sample(self.pool, self.rng.randint(1, self.batch))

    def record(self, op: str, chunk: list[str], started: float, out: Any) -> None:
        seconds = time.perf_counter() - started
        try:
            n = check(op, chunk, out)
        except AssertionError as exc:
            self.calls.append(Call(op, seconds, 0, "WRONG_ANSWER", str(exc)[:300]))
        else:
            self.calls.append(Call(op, seconds, n, "OK"))

    def failed(self, op: str, started: float, exc: BaseException) -> None:
        seconds = time.perf_counter() - started
        error = f"{type(exc).__name__}: {exc}"[:300]
        self.calls.append(Call(op, seconds, 0, code_of(exc), error))

    def run_sync(self, client: Any, stop_at: float) -> None:
        while time.monotonic() < stop_at:
            op, chunk = self.next()
            args, kwargs = plan(op, chunk, self.rng)
            started = time.perf_counter()
            try:
                out = getattr(client, op)(*args, **kwargs)
            except Exception as exc:  # counted by code, the run goes on
                self.failed(op, started, exc)
            else:
                self.record(op, chunk, started, out)

    async def run_async(self, client: Any, stop_at: float, in_flight: int = 2) -> None:
        async def loop() -> None:
            while time.monotonic() < stop_at:
                op, chunk = self.next()
                args, kwargs = plan(op, chunk, self.rng)
                started = time.perf_counter()
                try:
                    out = await getattr(client, op)(*args, **kwargs)
                except Exception as exc:
                    self.failed(op, started, exc)
                else:
                    self.record(op, chunk, started, out)

        await asyncio.gather(*(loop() for _ in range(in_flight)))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class LoadResult:
    clients: int
    aio_clients: int
    wall_seconds: float
    calls: list[Call]

    def failures(self) -> Counter[str]:
        return Counter(c.code for c in self.calls if c.code != "OK")

    def summary(self) -> dict[str, Any]:
        ms = [c.seconds * 1000 for c in self.calls]
        texts = sum(c.texts for c in self.calls)
        per_op = {
            op: {
                "calls": len(mine),
                "p50_ms": round(percentile(mine, 50), 2),
                "p99_ms": round(percentile(mine, 99), 2),
            }
            for op in OPS
            for mine in [[c.seconds * 1000 for c in self.calls if c.op == op]]
        }
        return {
            "clients": self.clients,
            "aio_clients": self.aio_clients,
            "wall_seconds": round(self.wall_seconds, 2),
            "calls": len(self.calls),
            "texts": texts,
            "texts_per_s": round(texts / self.wall_seconds, 1),
            "calls_per_s": round(len(self.calls) / self.wall_seconds, 1),
            "p50_ms": round(percentile(ms, 50), 2),
            "p95_ms": round(percentile(ms, 95), 2),
            "p99_ms": round(percentile(ms, 99), 2),
            "failures": dict(self.failures()),
            "first_errors": sorted({c.error for c in self.calls if c.error})[:5],
            "per_op": per_op,
        }


def run_load(
    target: str,
    *,
    clients: int,
    seconds: float,
    aio_clients: int = 0,
    batch: int = 16,
    texts: Sequence[str] | None = None,
    retries: int = 0,
    timeout: float = 60.0,
) -> LoadResult:
    """`clients` clients (the last `aio_clients` asyncio ones) loop for `seconds` against `target`.

    `retries=0` by default: a benchmark must see every failure, not have it retried away.
    """
    from textlens.client import AsyncClient, Client

    pool = list(texts) if texts is not None else reviews(2000, seed=11)
    workers = [Worker(i, pool, batch) for i in range(clients)]
    ready = threading.Barrier(clients + 1, timeout=120)
    stop_at = [0.0]
    settings = {"timeout": timeout, "retries": retries}

    def sync_thread(worker: Worker) -> None:
        with Client(target, **settings) as client:
            ready.wait()
            worker.run_sync(client, stop_at[0])

    def aio_thread(worker: Worker) -> None:
        async def main() -> None:
            async with AsyncClient(target, **settings) as client:
                ready.wait()
                await worker.run_async(client, stop_at[0])

        asyncio.run(main())

    threads = [
        threading.Thread(
            target=aio_thread if i >= clients - aio_clients else sync_thread,
            args=(w,),
            name=f"load-client-{i}",
        )
        for i, w in enumerate(workers)
    ]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds  # set before the barrier releases anyone
    ready.wait()
    started = time.monotonic()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return LoadResult(clients, aio_clients, wall, [c for w in workers for c in w.calls])


def print_table(name: str, s: dict[str, Any]) -> None:
    print(
        f"{name:12} {s['clients']:>3} clients {s['calls']:>7} calls {s['texts_per_s']:>9.1f} "
        f"texts/s  p50 {s['p50_ms']:8.1f} ms  p95 {s['p95_ms']:8.1f} ms  "
        f"p99 {s['p99_ms']:8.1f} ms  failures {s['failures'] or 0}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--baseline-seconds", type=float, default=None, help="default: --seconds")
    parser.add_argument("--batch", type=int, default=16, help="most texts per data call")
    parser.add_argument("--aio-clients", type=int, default=0, help="of --clients, AsyncClients")
    parser.add_argument("--retries", type=int, default=0, help="client retries (default none)")
    parser.add_argument("--target", default=None, help="an existing server; else start one")
    parser.add_argument("--server", choices=["process", "inprocess"], default="process")
    parser.add_argument("--config", type=Path, default=None, help="textlens serve --config")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--strict", action="store_true", help="exit 1 if any call failed")
    args = parser.parse_args()
    if not 0 <= args.aio_clients <= args.clients or args.clients < 1:
        parser.error("need --clients >= 1 and 0 <= --aio-clients <= --clients")

    from textlens.client import Client
    from textlens.server.runtime.hardware import cpu_info

    cpu = cpu_info()
    print(f"CPU flags: {' '.join(cpu.shown_flags())}", flush=True)
    server: Any = None
    if args.target:
        target, kind = args.target, "external"
    elif args.server == "process":
        from textlens.server.process import ServerProcess

        server = ServerProcess(args.config)
        target, kind = server.target, "process"
    else:
        from textlens.server.assembly import load_analyzer
        from textlens.server.settings import load_settings
        from textlens.server.transport.inprocess import InProcessServer

        specs = load_settings(args.config).models if args.config else None
        server = InProcessServer(load_analyzer(specs).registry)
        target, kind = server.target, "inprocess"
    try:
        with Client(target, timeout=120) as client:
            models = {m.name: f"{m.task} {m.backend}/{m.dtype} on {m.device}"
                      for m in client.list_models()}  # fmt: skip
        run_load(target, clients=1, seconds=1.0, batch=args.batch)  # warm-up
        base = run_load(
            target,
            clients=1,
            seconds=args.baseline_seconds or args.seconds,
            batch=args.batch,
            retries=args.retries,
        ).summary()
        print_table("1 client", base)
        loaded = run_load(
            target,
            clients=args.clients,
            seconds=args.seconds,
            aio_clients=args.aio_clients,
            batch=args.batch,
            retries=args.retries,
        ).summary()
        print_table(f"{args.clients} clients", loaded)
    finally:
        if server is not None:
            server.stop()

    def ratio(key: str) -> float | None:
        return round(loaded[key] / base[key], 3) if base[key] else None

    result = {
        "benchmark": "load",
        "server": kind,
        "target": target,
        "seconds": args.seconds,
        "batch": args.batch,
        "retries": args.retries,
        "ops": list(OPS),
        **{k: v for k, v in loaded.items()},
        "baseline_1_client": base,
        "ratio_texts_per_s_vs_1_client": ratio("texts_per_s"),
        "ratio_p50_vs_1_client": ratio("p50_ms"),
        "ratio_p99_vs_1_client": ratio("p99_ms"),
        "models": models,
        "cpu_flags": cpu.shown_flags(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    failed = sum(loaded["failures"].values()) + sum(base["failures"].values())
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
