"""Training on many labelled sources at once, selected by the worst source.

Why a trainer of its own: a model trained on a pooled mix and selected on the
pooled validation score learns the largest source's idea of "neutral" and
looks good on it, then calls polar text neutral on the next source (issue
23). Three levers live here, each measured by `scripts/market_study.py`:

* **sampling** — a source's share of each epoch is proportional to
  rows**alpha: 1 is the pooled mix, 0 gives every source the same share;
* **polar rows** — sources labelled positive/negative only (and the posters'
  own bullish/bearish tags) either teach all three classes ("full": their
  rows say "not neutral"), or only the direction ("pair": the loss is the
  softmax over positive and negative alone, so the neutral logit gets no
  gradient from them), or are left out ("drop");
* **selection** — the checkpoint kept is the one with the best *worst*
  three-class source's macro-F1, not the best pooled score.

It reuses the single-source trainer's network, loop and artifact (`trainer`),
so a mixture model loads and serves like any other.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from textlens.server.runtime.devices import resolve_device
from textlens.server.training.loop import fit, length_batches, seed_everything
from textlens.server.training.predict import encode_texts, predict_probs
from textlens.server.training.scores import classification_report
from textlens.server.training.source_report import source_metrics
from textlens.server.training.train_config import TrainConfig
from textlens.server.training.trainer import _prepare_network, _save

#: (input, label, source); input is a text or a (text, target) pair.
SourcedRows = Sequence[tuple[Any, str, str]]
POLAR_LOSSES = ("full", "pair", "drop")


@dataclass
class MixRecipe:
    """How the sources are mixed, how label-poor rows teach, and what selects the model."""

    #: A source's share of an epoch is proportional to rows**alpha (1 pooled, 0 equal).
    alpha: float = 0.5
    #: Rows drawn per epoch (0: as many as there are training rows).
    epoch_rows: int = 0
    #: (source, factor) pairs multiplying a source's share (e.g. a domain the model
    #: must keep as well as before while many new sources join).
    source_weights: tuple[tuple[str, float], ...] = ()
    #: Sources whose labels are positive/negative only, and how their rows teach.
    polar_sources: tuple[str, ...] = ()
    polar_loss: str = "full"
    #: Sources labelled by their authors (noisy, no neutral), and how their rows teach.
    self_sources: tuple[str, ...] = ()
    self_loss: str = "pair"
    label_smoothing: float = 0.0
    #: Inverse-frequency class weights over the sampled label distribution.
    class_weight: bool = False
    #: "worst": the lowest macro-F1 of the `select_sources`; "pooled": all rows as one.
    select: str = "worst"
    #: Sources the selection reads (default: those with every class, each in at least
    #: `select_min_class_rows` validation rows).
    select_sources: tuple[str, ...] = ()
    #: A source whose rarest class has fewer validation rows is reported, not selected
    #: on: with 15 neutral rows (SemEval) one row moves macro-F1 by two points, and the
    #: first ten-source run kept a quarter-epoch checkpoint on such noise.
    select_min_class_rows: int = 30

    def __post_init__(self) -> None:
        for loss in (self.polar_loss, self.self_loss):
            if loss not in POLAR_LOSSES:
                raise ValueError(f"polar/self loss must be one of {POLAR_LOSSES}, not {loss!r}")
        if self.select not in ("worst", "pooled"):
            raise ValueError(f"select must be worst or pooled, not {self.select!r}")

    def loss_of(self, source: str) -> str:
        if source in self.self_sources:
            return self.self_loss
        if source in self.polar_sources:
            return self.polar_loss
        return "full"


def source_quotas(
    sizes: dict[str, int], alpha: float, total: int, factors: dict[str, float] | None = None
) -> dict[str, int]:
    """Rows each source contributes to an epoch of `total` rows (sum == total)."""
    factors = factors or {}
    weights = {s: n**alpha * factors.get(s, 1.0) for s, n in sizes.items() if n}
    norm = sum(weights.values())
    quotas = {s: int(total * w / norm) for s, w in weights.items()}
    # Largest remainders get the rows lost to rounding, so an epoch has exactly `total`.
    short = total - sum(quotas.values())
    for s in sorted(weights, key=lambda s: -(total * weights[s] / norm - quotas[s]))[:short]:
        quotas[s] += 1
    return quotas


def epoch_indices(
    by_source: dict[str, list[int]], quotas: dict[str, int], rng: random.Random
) -> list[int]:
    """Row indices of one epoch: each source's quota, without repeats until it runs out."""
    picked: list[int] = []
    for source, quota in quotas.items():
        pool = by_source[source]
        while quota > 0:
            take = rng.sample(pool, min(quota, len(pool)))
            picked.extend(take)
            quota -= len(take)
    return picked


def mixture_loss(labels: list[str], smoothing: float, weight: torch.Tensor | None) -> Any:
    """loss(logits, targets): targets[:, 0] the class, targets[:, 1] 1 for a polarity-only row."""
    polar = {"positive", "negative"} <= set(labels)
    pos, neg = (labels.index("positive"), labels.index("negative")) if polar else (0, 0)

    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        y, pair = targets[:, 0], targets[:, 1].bool()
        w = None if weight is None else weight.to(logits.device)
        total = logits.new_zeros(())
        if (~pair).any():
            full = F.cross_entropy(
                logits[~pair], y[~pair], weight=w, label_smoothing=smoothing, reduction="sum"
            )
            total = total + full
        if pair.any():
            sub = logits[pair][:, [neg, pos]]
            total = total + F.cross_entropy(sub, (y[pair] == pos).long(), reduction="sum")
        return total / len(y)

    return loss


def worst_source(by_source: dict[str, dict[str, Any]], select: Sequence[str]) -> tuple[str, float]:
    """The source of `select` with the lowest macro-F1, and that score."""
    name = min(select, key=lambda s: by_source[s]["macro_f1"])
    return name, by_source[name]["macro_f1"]


def train_mixture(
    train: SourcedRows,
    valid: SourcedRows,
    task: str,
    out_dir: Path,
    cfg: TrainConfig,
    recipe: MixRecipe,
    record: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fine-tune a classifier on (input, label, source) rows; save a delta like `trainer`'s."""
    seed_everything(cfg.seed)
    rows = [r for r in train if recipe.loss_of(r[2]) != "drop"]
    labels = sorted({label for _, label, _ in rows})
    pair_sources = {s for _, _, s in rows if recipe.loss_of(s) == "pair"}
    if pair_sources and not {"positive", "negative"} <= set(labels):
        raise ValueError(
            f"sources {sorted(pair_sources)} teach polarity only (pair loss), which needs "
            f"'positive' and 'negative' labels; the labels are {labels}"
        )
    id2label = dict(enumerate(labels))
    label2id = {v: k for k, v in id2label.items()}
    by_source: dict[str, list[int]] = {}
    for i, (_, _, source) in enumerate(rows):
        by_source.setdefault(source, []).append(i)
    total = recipe.epoch_rows or len(rows)
    sizes = {s: len(ix) for s, ix in by_source.items()}
    quotas = source_quotas(sizes, recipe.alpha, total, dict(recipe.source_weights))
    weight = None
    if recipe.class_weight:
        expected = [0.0] * len(labels)
        for s, ix in by_source.items():
            for i in ix:
                expected[label2id[rows[i][1]]] += quotas[s] / len(ix)
        weight = torch.tensor([sum(expected) / (len(labels) * max(e, 1.0)) for e in expected])
        weight = weight / weight.mean()
    device = resolve_device(cfg.device)
    network, tokenizer = _prepare_network(cfg, task, id2label)
    network.to(device)
    lengths = [len(str(x)) for x, _, _ in rows]
    valid_by_source: dict[str, list[tuple[Any, str]]] = {}
    for x, label, source in valid:
        valid_by_source.setdefault(source, []).append((x, label))

    # Default selection: the sources that have every class (a polarity-only source's
    # macro-F1 is over two classes and not comparable), each class in enough rows to
    # measure; all of them if none has.
    def measurable(rows: list[tuple[Any, str]]) -> bool:
        counts = [sum(1 for _, g in rows if g == label) for label in labels]
        return min(counts) >= recipe.select_min_class_rows

    complete = tuple(s for s, vr in valid_by_source.items() if measurable(vr))
    select = recipe.select_sources or complete or tuple(valid_by_source)

    def encode(batch: list[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        enc = encode_texts(tokenizer, [rows[i][0] for i in batch], cfg.max_length)
        y = torch.tensor(
            [[label2id[rows[i][1]], int(recipe.loss_of(rows[i][2]) == "pair")] for i in batch]
        )
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}, y

    def evaluate() -> tuple[float, dict[str, Any]]:
        texts = [x for x, _, _ in valid]
        probs = predict_probs(network, tokenizer, texts, cfg.max_length, device).tolist()
        report = classification_report(
            [g for _, g, _ in valid],
            [labels[max(range(len(labels)), key=p.__getitem__)] for p in probs],
            labels,
        )
        per_source: dict[str, dict[str, Any]] = {}
        order = [s for _, _, s in valid]
        for source in valid_by_source:
            idx = [i for i, s in enumerate(order) if s == source]
            per_source[source] = source_metrics(
                [valid[i][1] for i in idx], [probs[i] for i in idx], labels
            )
        name, worst = worst_source(per_source, select)
        report.update(by_source=per_source, worst_source=name, worst_macro_f1=worst)
        return (worst if recipe.select == "worst" else report["macro_f1"]), report

    report, curve, losses = fit(
        network,
        cfg,
        total,
        lambda rng: length_batches(
            lengths, cfg.batch_size, rng, epoch_indices(by_source, quotas, rng)
        ),
        encode,
        evaluate,
        device,
        loss_fn=mixture_loss(labels, recipe.label_smoothing, weight),
    )
    mix = {
        "recipe": asdict(recipe),
        "quotas": quotas,
        "selected_on": list(select),
        "by_source": report.get("by_source"),
    }
    return _save(
        out_dir,
        network,
        cfg,
        task,
        "sequence",
        id2label,
        (len(rows), len(valid)),
        report,
        curve,
        losses,
        {**(record or {}), "mixture": mix},
    )
