"""`make demo`: a real server on the default models, a few texts, a readable table.

Offline: the models are the packaged MiniLM encoder plus the committed deltas.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

TEXTS = [
    "I love it. The battery lasts two days and the screen is gorgeous.",
    "Terrible, broke after a day and support never answered.",
    "Angela Merkel met Siemens executives in Berlin to discuss the energy transition.",
    "Apple shares rose 4% after Tim Cook announced record iPhone sales in China.",
    "The hotel in Lisbon was fine, nothing special, but the staff at Marriott were kind.",
    "Worst customer service I have ever experienced from Delta Air Lines.",
    "Barcelona beat Real Madrid 3-1 at the Camp Nou on Sunday.",
    "",
]
TOPICS = ["product review", "business news", "sports", "travel"]


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def main(argv: Sequence[str] | None = None) -> int:
    from textlens.client import Client
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
            for info in client.list_models():
                star = "*" if info.is_default else " "
                labels = ", ".join(info.labels) if info.labels else f"{info.dim}-dim vectors"
                print(
                    f" {star} {info.name:18} {info.task:10} {info.device}/{info.dtype}  [{labels}]"
                )
            print()
            t0 = time.monotonic()
            sentiments = client.sentiment(TEXTS)
            entities = client.entities(TEXTS)
            topics = client.classify(TEXTS, labels=TOPICS, hypothesis_template="This text is {}.")
            elapsed = time.monotonic() - t0
        header = f"{'text':62} {'sentiment':>9} {'score':>6}  {'topic':15} entities"
        print(header)
        print("-" * len(header))
        for text, s, ents, topic in zip(TEXTS, sentiments, entities, topics, strict=True):
            assert s is not None and ents is not None and topic is not None
            spans = ", ".join(f"{e.text} ({e.label})" for e in ents) or "-"
            shown = _cut(text, 62) if text else "(empty string)"
            print(f"{shown:62} {s.label:>9} {s.score:+6.2f}  {topic.label:15} {spans}")
        print(f"\n{len(TEXTS)} texts x 3 tasks in {elapsed * 1000:.0f} ms over gRPC")
        code = server.stop()
        print(f"server stopped cleanly (exit code {code})")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
