"""Domain-adaptive masked-LM pre-training of the base encoder on unlabelled market text.

    python scripts/domain_mlm.py --data ../shared/data --out /tmp/minilm-market --steps 1200
    python scripts/market_study.py --base /tmp/minilm-market --base-label "market MLM" \\
        --variants "polar pair + self dropped" --seeds 1 2 --rows 6000 --out docs/market_study.jsonl

Issue 23 asks whether continued masked-LM training on finance text helps a
*sentence-transformer* base before fine-tuning. all-MiniLM-L6-v2 was tuned
for sentence similarity and ships no MLM head, so the head starts from random
weights and its first gradients reach the encoder: adaptation may help (new
vocabulary: tickers, cashtags, "bullish") or undo what the contrastive
training gave. Only the study's numbers decide; this script makes the
candidate encoder and reports the held-out MLM loss before and after.

Texts: every finance source's *training-side* texts (labels unused) plus the
optional noisy StockTwits scrape, so no held-out text of any source is seen,
not even unlabelled.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import torch

from textlens.server.runtime.loading import resolve_directory
from textlens.server.training import sentiment_mix

#: Sources whose text is market text (the review sources would adapt to movies).
MARKET = [s.name for s in sentiment_mix.SOURCES_TABLE if s.name not in ("sst2", "sst5")]
OPTIONAL = "optional/stocktwits_selflabel_amoooma_train.csv"


def _key(text: str) -> str:
    """A text as the held-out check compares it: unescaped, lower case, spaces collapsed."""
    return " ".join(html.unescape(text).lower().split())


def market_texts(data: Path) -> tuple[list[str], list[str]]:
    """(training-side texts, held-out texts) of the market sources, deduplicated."""
    train = [t for t, _, _ in duckdb.sql(sentiment_mix.train_sql(data, MARKET)).fetchall()]
    valid = [t for t, _, _ in duckdb.sql(sentiment_mix.valid_sql(data, MARKET)).fetchall()]
    optional = data / OPTIONAL
    if optional.is_file():
        held = {_key(t) for t in valid}
        rows = duckdb.sql(
            f"SELECT text FROM read_csv('{optional.as_posix()}', header = true, "
            "all_varchar = true) WHERE trim(coalesce(text, '')) <> ''"
        ).fetchall()
        train += [html.unescape(t) for (t,) in rows if _key(t) not in held]
    return sorted(set(train)), sorted(set(valid))


def masked_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """MLM loss with the vocabulary head applied to the masked positions only.

    The head's 30,522-way output over every token is most of a step's cost on a
    CPU; only the ~15% masked positions have a loss.
    """
    hidden = model.bert(
        input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")
    ).last_hidden_state
    labels = batch["labels"]
    picked = labels != -100
    logits = model.cls(hidden[picked])
    return torch.nn.functional.cross_entropy(logits, labels[picked])


def mlm_loss(model: Any, batches: list[dict[str, torch.Tensor]]) -> float:
    model.eval()
    with torch.no_grad():
        losses = [float(masked_loss(model, b)) for b in batches]
    model.train()
    return sum(losses) / len(losses)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, required=True, help="directory of the new encoder")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--head-steps",
        type=int,
        default=200,
        help="first steps train the (random) MLM head alone, so its noise never reaches the encoder",
    )
    args = parser.parse_args(argv)

    import transformers
    from tqdm import tqdm

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    base = resolve_directory("builtin:minilm")
    tokenizer = transformers.AutoTokenizer.from_pretrained(base)
    model = transformers.BertForMaskedLM.from_pretrained(base)  # the MLM head starts random
    collator = transformers.DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    train, valid = market_texts(args.data)
    print(f"{len(train):,} training-side market texts, {len(valid):,} held-out", flush=True)

    def batch(texts: list[str]) -> dict[str, torch.Tensor]:
        enc = tokenizer(texts, truncation=True, max_length=args.max_length)
        return dict(collator([{"input_ids": ids} for ids in enc["input_ids"]]))

    torch.manual_seed(0)  # the same masks on the held-out texts before and after
    probe = [batch(valid[i : i + 64]) for i in range(0, min(len(valid), 1024), 64)]
    before = mlm_loss(model, probe)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, args.steps // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (args.steps - s) / (args.steps - warmup))),
    )
    torch.manual_seed(args.seed)
    order: list[str] = []
    started = time.monotonic()
    bar = tqdm(range(args.steps), desc="market MLM", unit="step")
    model.bert.requires_grad_(False)
    for step in bar:
        if step == args.head_steps:
            model.bert.requires_grad_(True)
        if len(order) < args.batch_size:
            order += rng.sample(train, len(train))
        texts, order = order[: args.batch_size], order[args.batch_size :]
        loss = masked_loss(model, batch(texts))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        bar.set_postfix(loss=f"{float(loss):.3f}")
    torch.manual_seed(0)
    probe = [batch(valid[i : i + 64]) for i in range(0, min(len(valid), 1024), 64)]
    after = mlm_loss(model, probe)
    args.out.mkdir(parents=True, exist_ok=True)
    model.bert.save_pretrained(args.out)  # the encoder only: fine-tuning adds its own head
    tokenizer.save_pretrained(args.out)
    report = {
        "texts": len(train),
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "head_steps": args.head_steps,
        "held_out_mlm_loss": {"before": round(before, 4), "after": round(after, 4)},
        "minutes": round((time.monotonic() - started) / 60, 1),
    }
    (args.out / "domain_mlm.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
