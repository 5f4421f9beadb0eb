"""`make demo`: a real server on the default models, a few texts, a readable table.

Then SQL: a DuckDB file with a few thousand generated product reviews, queried
with `sentiment()`, `sentiment_score()`, `entities()` and `entity_sentiment()`
in embedded mode (the
models run inside the DuckDB process). Offline: the models are the packaged
MiniLM encoder plus the committed deltas.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TEXTS = [
    "I love it. The battery lasts two days and the screen is gorgeous.",
    "Terrible, broke after a day and support never answered.",
    "Angela Merkel met Siemens executives in Berlin to discuss the energy transition.",
    "Apple shares rose 4% after Tim Cook announced record iPhone sales in China.",
    "The hotel in Lisbon was fine, nothing special, but the staff at Marriott were kind.",
    "Worst customer service I have ever experienced from Delta Air Lines.",
    "Barcelona beat Real Madrid 3-1 at the Camp Nou on Sunday.",
    "Siemens will report its third-quarter results on November 12.",
    "The company's board consists of nine directors.",
    "Shell shares fell 6% after the oil major cut its dividend.",
    "",
]
#: Target-level sentiment: a text and the targets asked about.
ASPECT_TEXTS = [
    ("Tesla shares jump while Ford slips on weak guidance", ["Tesla", "Ford"]),
    ("The battery is great but the screen scratches easily", ["battery", "screen", "price"]),
]
TOPICS = ["product review", "business news", "sports", "travel"]


#: How a model's `backend_reason` starts while its engines are measured in the background.
FOR_NOW = "torch/float32 for now"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def grpc_demo() -> int:
    """The model server part: a real `textlens serve` and the Python client."""
    from textlens.client import Client, NotScored
    from textlens.server.process import ServerProcess

    print(
        "textlens demo: starting a model server on the embedded default models (offline)…",
        flush=True,
    )
    started = time.monotonic()
    with ServerProcess() as server:
        print(f"server ready on {server.target} in {time.monotonic() - started:.1f}s\n", flush=True)
        with Client(server.target) as client:
            if not client.health():
                print("server is not healthy", file=sys.stderr)
                return 1
            infos = client.list_models()
            for info in infos:
                star = "*" if info.is_default else " "
                labels = ", ".join(info.labels) if info.labels else f"{info.dim}-dim vectors"
                print(
                    f" {star} {info.name:18} {info.task:10} {info.device} {info.backend}/{info.dtype:9}"
                    f"  [{labels}]"
                )
            if any(FOR_NOW in info.backend_reason for info in infos):
                print(
                    "\n (first start on this machine: models answer on torch/float32 while the "
                    "server measures faster engines in the background; later starts reuse them)"
                )
            print()
            t0 = time.monotonic()
            sentiments = client.sentiment(TEXTS)
            entities = client.entities(TEXTS)
            topics = client.classify(TEXTS, labels=TOPICS, hypothesis_template="This text is {}.")
            elapsed = time.monotonic() - t0
            pairs = [(text, target) for text, targets in ASPECT_TEXTS for target in targets]
            toward = client.aspect_sentiment([t for t, _ in pairs], [g for _, g in pairs])
        header = f"{'text':62} {'sentiment':>9} {'score':>6}  {'topic':15} entities"
        print(header)
        print("-" * len(header))
        for text, s, ents, topic in zip(TEXTS, sentiments, entities, topics, strict=True):
            assert s is not None and ents is not None and topic is not None
            shown = _cut(text, 62) if text else "(empty string)"
            if isinstance(s, NotScored) or isinstance(ents, NotScored):
                why = "no text" if isinstance(s, NotScored) and s.reason == "empty" else "not read"
                print(f"{shown:62} {why + ': not scored':>16}  {topic.label:15} -")
                continue
            spans = ", ".join(f"{e.text} ({e.label})" for e in ents) or "-"
            print(f"{shown:62} {s.label:>9} {s.score:+6.2f}  {topic.label:15} {spans}")
        print(f"\n{len(TEXTS)} texts x 3 tasks in {elapsed * 1000:.0f} ms over gRPC\n")
        _print_aspects(pairs, toward)
        with Client(server.target) as client:
            _await_measurements(client)
        code = server.stop()
        print(f"server stopped cleanly (exit code {code})")
    return 0 if code == 0 else 1


def _await_measurements(client: Any, timeout: float = 300.0) -> None:
    """On a first start, let the server finish measuring its engines before it stops: the
    choices are cached, so the SQL part (and every later start) loads them at once."""
    waiting = {i.name for i in client.list_models() if FOR_NOW in i.backend_reason}
    if not waiting:
        return
    print(
        f"\nfirst start on this machine: waiting for the server to finish measuring the "
        f"engines of {len(waiting)} models (cached for every later start)…",
        flush=True,
    )
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        time.sleep(0.5)
        for info in client.list_models():
            if info.name in waiting and FOR_NOW not in info.backend_reason:
                waiting.discard(info.name)
                print(f"  {info.name:18} now runs on {info.backend}/{info.dtype}", flush=True)


def _print_aspects(pairs: list[tuple[str, str]], results: list[Any]) -> None:
    """Sentiment toward each target (the AspectSentiment RPC)."""
    from textlens.client import NotScored

    print(f"{'text':54} {'target':8} sentiment toward it")
    print("-" * 80)
    for (text, target), r in zip(pairs, results, strict=True):
        if r is None:
            said = "not mentioned (NULL)"
        elif isinstance(r, NotScored):
            said = f"not scored: language {r.language} (NULL)"
        else:
            said = f"{r.label} ({r.score:+.2f})"
        print(f"{_cut(text, 54):54} {target:8} {said}")


DEMO_DB = Path(tempfile.gettempdir()) / "textlens-demo" / "reviews.duckdb"
FIRST_REVIEWS = """
SELECT product, rating, sentiment(review) AS sentiment,
       sentiment_score(review) AS score, entities(review) AS entities, review
FROM (SELECT * FROM reviews ORDER BY review_id LIMIT 10)  -- limit first: 10 rows of work
"""
MONTHLY_SENTIMENT = """
SELECT product, month(review_date) AS month,
       avg(sentiment_score(review)) AS avg_sentiment, count(*) AS reviews
FROM reviews GROUP BY ALL ORDER BY ALL
"""
HEADLINES = """
SELECT headline, sentiment(headline) AS overall,
       [e.text || ': ' || coalesce(e.sentiment, '-') FOR e IN entity_sentiment(headline)] AS toward
FROM (VALUES ('Tesla shares jump while Ford slips on weak guidance'),
             ('Siemens will report its third-quarter results on November 12'),
             ('Infosys beats estimates; Wipro misses')) AS news(headline)
"""
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _print_sql(sql: str) -> None:
    print("\n" + "\n".join(f"  {line}" for line in sql.strip().splitlines()) + "\n")


def _print_first_reviews(rows: list[tuple[Any, ...]]) -> None:
    header = f"{'product':24} {'stars':>5} {'sentiment':>9} {'score':>6}  {'review':44} entities"
    print(header)
    print("-" * len(header))
    for product, rating, label, score, spans, review in rows:
        found = ", ".join(f"{e['text']} ({e['label']})" for e in spans) or "-"
        print(
            f"{product:24} {'*' * rating:>5} {label:>9} {score:+6.2f}  {_cut(review, 44):44} {found}"
        )


def _print_monthly(rows: list[tuple[Any, ...]]) -> None:
    table: dict[str, dict[int, float]] = {}
    for product, month, avg, _ in rows:
        table.setdefault(product, {})[month] = avg
    print(f"{'average sentiment_score':24} " + " ".join(f"{m:>5}" for m in MONTHS))
    for product, by_month in table.items():
        cells = (f"{by_month[m]:+5.2f}" if m in by_month else "    -" for m in range(1, 13))
        print(f"{product:24} " + " ".join(cells))


def sql_demo(db: Path = DEMO_DB, reviews: int = 3000) -> int:
    """The SQL part: a reviews table in a DuckDB file, queried with the textlens functions."""
    import duckdb

    from textlens.connectors.duckdb import register
    from textlens.samples.reviews import DECLINING, create_reviews_table

    print("\n--- SQL: the same models as DuckDB functions (embedded mode) ---\n", flush=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db)) as con:
        create_reviews_table(con, "reviews", reviews, duplicate_fraction=0.1)
        print(f"wrote {reviews} generated product reviews to {db} (table `reviews`)")
        started = time.monotonic()
        with register(con) as tl:
            print(f"loaded the models into this process in {time.monotonic() - started:.1f}s")
            _print_sql(FIRST_REVIEWS)
            _print_first_reviews(con.execute(FIRST_REVIEWS).fetchall())
            _print_sql(HEADLINES)
            for headline, overall, toward in con.execute(HEADLINES).fetchall():
                print(f"{_cut(headline, 62):62} {overall:>9}  {', '.join(toward) or '-'}")
            _print_sql(MONTHLY_SENTIMENT)
            tl.reset_stats()
            started = time.monotonic()
            monthly = con.execute(MONTHLY_SENTIMENT).fetchall()
            elapsed = time.monotonic() - started
            _print_monthly(monthly)
            s = tl.stats()
            print(
                f"\n{reviews} reviews in {elapsed:.1f}s: {s.computed} distinct texts computed, "
                f"{s.deduplicated + s.hits} rows answered from duplicates and the cache. "
                f"({DECLINING} reviews turn sour after its April firmware update.)"
            )
    print(next_steps(db))
    return 0


def next_steps(db: Path | str) -> str:
    """How to go on from here, with commands that work when pasted: the `textlens`
    command is in this interpreter's bin directory, which is often not on the PATH."""
    query = f'textlens sql "SELECT product, sentiment(review) FROM reviews LIMIT 5" --db {db}'
    here = Path(sys.executable).parent
    found = shutil.which("textlens")
    if found is not None and Path(found).parent == here:
        return f"\nTry it:\n  {query}"
    activate = here / "activate"
    how = f"source {activate}" if activate.is_file() else f'export PATH="{here}:$PATH"'
    return (
        f"\nTry it: the textlens command is in {here}; put it on your PATH first:\n"
        f"  {how}\n  {query}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="textlens demo", description=__doc__)
    parser.add_argument("--db", type=Path, default=DEMO_DB, help=f"DuckDB file (default {DEMO_DB})")
    parser.add_argument("--reviews", type=int, default=3000, help="reviews to generate")
    parser.add_argument("--skip-grpc", action="store_true", help="only the SQL part")
    parser.add_argument("--skip-sql", action="store_true", help="only the gRPC part")
    args = parser.parse_args(argv)
    code = 0 if args.skip_grpc else grpc_demo()
    if code == 0 and not args.skip_sql:
        code = sql_demo(args.db, args.reviews)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
