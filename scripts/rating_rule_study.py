"""The stated-star-rating rule's effect (docs/market_sentiment.md): with and without it.

    python scripts/rating_rule_study.py [--without-rule] [--data ../shared/data]

Runs the default sentiment model as served (the Analyzer, by sentence) over 600
generated reviews (seed 7, `textlens.samples.reviews`, labelled by their star
rating) and over every SST-2/SST-5 row that states a star rating, and prints
how many get the label their rating reads.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
from pathlib import Path

RATING = re.compile(r"\b(zero|one|two|three|four|five|[0-5])[- ]stars?\b", re.IGNORECASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--without-rule", action="store_true", help="the model alone")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TEXTLENS_MEASURE_ENGINES", "at_load")
    from textlens.samples import reviews
    from textlens.server.assembly import load_analyzer
    from textlens.server.runtime import analyzer as analyzer_module
    from textlens.server.runtime import documents
    from textlens.server.settings import default_models

    if args.without_rule:
        analyzer_module.rated = documents.rated = lambda _text, result: result  # type: ignore[assignment]
    analyzer = load_analyzer([m for m in default_models() if m.task == "sentiment"])
    rng = random.Random(7)
    generated = []
    for _ in range(600):
        product, brand = rng.choice(reviews.PRODUCTS)
        weights = reviews.RATING_WEIGHTS
        rating = rng.choices(list(weights), list(weights.values()))[0]
        generated.append((rating, reviews._text(rng, product, brand, rating)))
    sst = []
    for name in ("sst2_train.csv", "sst5to3_train.csv"):
        with (args.data / name).open(encoding="utf-8", newline="") as fh:
            sst += [(r["label"], r["text"]) for r in csv.DictReader(fh) if RATING.search(r["text"])]
    answers = analyzer.sentiment([t for _, t in generated]).result(600)
    polar = [(r, a.label) for (r, _), a in zip(generated, answers, strict=True) if r != 3]
    opposite = sum((r <= 2 and a == "positive") or (r >= 4 and a == "negative") for r, a in polar)
    negatives = [a == "negative" for r, a in polar if r <= 2]
    sst_answers = analyzer.sentiment([t for _, t in sst]).result(600)
    right = sum(a.label == label for (label, _), a in zip(sst, sst_answers, strict=True))
    print(
        f"{'without' if args.without_rule else 'with'} the rule: generated reviews "
        f"{opposite}/{len(polar)} polar ones with the opposite label, negative recall "
        f"{sum(negatives) / len(negatives):.3f}; SST rows stating a rating {right}/{len(sst)} right"
    )
    analyzer.close()


if __name__ == "__main__":
    main()
