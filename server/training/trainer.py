"""The fine-tuning loop: LoRA on the encoder, a fully trained head, best-on-validation.

Sequence classification (sentiment, topics) and token classification (NER)
share one loop; they differ in how a batch is encoded and how a validation
set is scored.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from textlens.server.runtime.artifacts import DeltaMeta, save_delta, sha256_file, trained_tensors
from textlens.server.runtime.devices import resolve_device
from textlens.server.runtime.loading import (
    BASE_BUILTIN,
    MINILM_SHA256,
    TASK_KIND,
    base_network,
    resolve_directory,
    verify_base,
    weight_files,
)
from textlens.server.runtime.lora import add_lora
from textlens.server.runtime.networks import TaskNetwork
from textlens.server.training.metrics import classification_report, span_f1_report
from textlens.server.training.predict import (
    encode_texts,
    encode_words,
    predict_probs,
    predict_texts,
    predict_word_tags,
    token_labels,
)

__all__ = [
    "TrainConfig",
    "class_weights",
    "encode_words",
    "predict_probs",
    "predict_texts",
    "predict_word_tags",
    "resumed_config",
    "token_labels",
    "train_text_classifier",
    "train_token_classifier",
]

log = logging.getLogger(__name__)

#: (text, label) rows; for the aspect task ((scoped text, aspect), label).
TextRows = Sequence[tuple[Any, str]]
TokenRows = Sequence[tuple[list[str], list[str]]]


@dataclass
class TrainConfig:
    """Hyper-parameters; the defaults train on 2 CPU cores in minutes."""

    base: str = "builtin:minilm"
    epochs: int = 3
    batch_size: int = 32
    lr: float = 6e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    lora_r: int = 16
    lora_alpha: float = 32.0
    max_length: int = 128
    seed: int = 13
    casing: bool = False
    device: str = "auto"
    #: Validation passes per epoch; the best one's weights are kept (2: the recipe study).
    evals_per_epoch: int = 2
    patience: int = 2
    #: "lora" trains adapters plus the head (a few-MB artifact); "full" trains every weight.
    method: str = "lora"
    #: Optimizer step every `grad_accum` batches (an effective batch of batch_size x grad_accum).
    grad_accum: int = 1
    #: "auto" weights the loss by inverse class frequency when the largest class has 1.5x
    #: the rows of the smallest (balanced data keeps the plain loss); "none" or "balanced".
    class_weight: str = "auto"
    #: A textlens delta directory to continue from (its adapters/weights and head); its
    #: base, method, LoRA shape, casing and labels then fix this run's.
    init_from: str = ""


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def _length_batches(
    lengths: Sequence[int],
    batch_size: int,
    rng: random.Random,
    rows: list[int] | None = None,
) -> list[list[int]]:
    """Shuffled batches of similar-length rows (less padding, same randomness per epoch).

    `rows`: the row indices of this epoch (a mixture's sampled rows); default every row once.
    """
    order = list(range(len(lengths))) if rows is None else rows
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda j: lengths[j])
        batches.extend(chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def _prepare_network(
    cfg: TrainConfig, task: str, id2label: dict[int, str]
) -> tuple[TaskNetwork, Any]:
    """The base model with a head for `id2label`, LoRA on the encoder, the rest frozen."""
    kind = TASK_KIND[task]
    if kind == "embed":
        raise ValueError("cannot fine-tune an embedding-only task")
    base_dir = resolve_directory(cfg.base)
    if cfg.base == BASE_BUILTIN:
        verify_base(base_dir, MINILM_SHA256)
    network, tokenizer = base_network(cfg.base, base_dir, kind, id2label)
    if cfg.casing and network.casing is None:
        network = TaskNetwork(network.hf, kind, casing=True)
    if cfg.method == "full":
        for param in network.parameters():
            param.requires_grad = True
        return network, tokenizer
    if cfg.method != "lora":
        raise ValueError(f"training method must be 'lora' or 'full', not {cfg.method!r}")
    add_lora(network, cfg.lora_r, cfg.lora_alpha)
    for name, param in network.named_parameters():
        param.requires_grad = (
            "lora_" in name or name.startswith(("hf.classifier", "casing")) or ".pooler." in name
        )
    return network, tokenizer


def resumed_config(cfg: TrainConfig, delta_dir: Path) -> tuple[TrainConfig, dict[int, str]]:
    """`cfg` with the previous run's base, method and shape; and its labels, which must be kept."""
    from dataclasses import replace

    from textlens.server.runtime.artifacts import read_meta

    meta = read_meta(delta_dir)
    method = "lora" if meta.lora_r > 0 else "full"
    cfg = replace(
        cfg,
        base=meta.base_source,
        method=method,
        lora_r=meta.lora_r or cfg.lora_r,
        lora_alpha=meta.lora_alpha,
        casing=meta.casing,
        init_from=str(delta_dir),
    )
    return cfg, meta.id2label


def _load_previous(network: TaskNetwork, cfg: TrainConfig) -> None:
    """Start from the previous delta's trained tensors (LoRA factors, head, casing)."""
    from textlens.server.runtime.artifacts import load_delta_tensors

    tensors = load_delta_tensors(Path(cfg.init_from))
    own = network.state_dict()
    unknown = sorted(set(tensors) - set(own))
    if unknown:
        raise ValueError(f"{cfg.init_from} has tensors this network lacks: {unknown[:5]}")
    network.load_state_dict(tensors, strict=False)


def class_weights(labels: Sequence[str], classes: Sequence[str], mode: str) -> torch.Tensor | None:
    """Inverse-frequency loss weights (mean 1), or None for the plain loss.

    Why "auto": a rare class otherwise barely moves the loss and macro-F1
    suffers, but weighting balanced data only adds noise (and would change the
    committed defaults' training), so it switches on at a 1.5x imbalance.
    """
    if mode not in ("auto", "balanced", "none"):
        raise ValueError(f"class_weight must be auto, balanced or none, not {mode!r}")
    counts = [sum(1 for x in labels if x == c) for c in classes]
    if mode == "none" or not counts or min(counts) == 0:
        return None
    if mode == "auto" and max(counts) < 1.5 * min(counts):
        return None
    weights = torch.tensor([len(labels) / (len(classes) * n) for n in counts])
    return weights / weights.mean()


def _fit(
    network: TaskNetwork,
    cfg: TrainConfig,
    n_rows: int,
    make_batches: Callable[[random.Random], list[list[int]]],
    encode: Callable[[list[int]], tuple[dict[str, torch.Tensor], torch.Tensor]],
    evaluate: Callable[[], tuple[float, dict[str, Any]]],
    device: torch.device,
    loss_weight: torch.Tensor | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> tuple[dict[str, Any], list[dict[str, float]], list[dict[str, float]]]:
    """Train; keep the trainable tensors of the best validation score.

    `loss_fn(logits, labels)` replaces the (weighted) cross-entropy; the
    multi-source trainer (`training.mixture`) uses it for rows that carry
    only a polarity. Returns the best evaluation's report, the validation curve (one point per
    evaluation) and the training-loss curve (about 20 points per epoch).
    """
    from tqdm import tqdm

    rng = random.Random(cfg.seed)
    params = [p for p in network.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(n_rows / cfg.batch_size)
    accum = max(1, cfg.grad_accum)
    total = math.ceil(steps_per_epoch / accum) * cfg.epochs
    warmup = max(1, int(total * cfg.warmup_fraction))

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    weight = None if loss_weight is None else loss_weight.to(device)
    plain = nn.CrossEntropyLoss(weight=weight, ignore_index=-100)

    def plain_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = plain(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
        return out

    compute_loss = loss_fn or plain_loss
    autocast = device.type == "cuda"
    eval_points = {
        min(steps_per_epoch, round(steps_per_epoch * (k + 1) / cfg.evals_per_epoch))
        for k in range(cfg.evals_per_epoch)
    }
    best_score = -1.0
    best_state: dict[str, torch.Tensor] = {}
    best_report: dict[str, Any] = {}
    curve: list[dict[str, float]] = []
    losses: list[dict[str, float]] = []
    loss_every = max(1, steps_per_epoch // 20)
    bad_evals = 0
    step = 0
    running = 0.0
    started = time.monotonic()
    for epoch in range(cfg.epochs):
        network.train()
        batches = make_batches(rng)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", mininterval=2.0)
        for i, batch in enumerate(bar, start=1):
            inputs, labels = encode(batch)
            inputs = {k: v.to(device) for k, v in inputs.items()}
            labels = labels.to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = network(**inputs)
                # Any: torch's stubs leave Tensor.backward untyped.
                loss: Any = compute_loss(logits.float(), labels)
            (loss / accum).backward()
            if i % accum == 0 or i == len(batches):
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            step += 1
            # One running mean across epochs: restarting it at each epoch drew a cliff
            # at every epoch boundary in training_curve.png that was no real event.
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            bar.set_postfix(loss=f"{running:.4f}", valid=f"{max(best_score, 0):.4f}")
            if i % loss_every == 0:
                losses.append({"epoch": epoch + i / steps_per_epoch, "loss": running})
            if i in eval_points:
                network.eval()
                score, report = evaluate()
                network.train()
                point = {
                    "epoch": epoch + i / steps_per_epoch,
                    "step": step,
                    "loss": running,
                    "score": score,
                }
                curve.append(point)
                log.info("validation at step %d: score %.4f (loss %.4f)", step, score, running)
                print(
                    f"  step {step}: validation score {score:.4f}, train loss {running:.4f}",
                    flush=True,
                )
                if score > best_score:
                    best_score, best_report, bad_evals = score, report, 0
                    best_state = {k: v.clone() for k, v in trained_tensors(network).items()}
                else:
                    bad_evals += 1
        if bad_evals >= cfg.patience:
            print(
                f"  early stop after epoch {epoch + 1}: no better score in {bad_evals} evaluations"
            )
            break
    # Restore the best trainable tensors into the LoRA-wrapped network.
    with torch.no_grad():
        params_by_name = dict(network.named_parameters())
        for name, value in best_state.items():
            params_by_name[name].copy_(value.to(params_by_name[name].device))
    best_report["train_seconds"] = round(time.monotonic() - started, 1)
    return best_report, curve, losses


def _base_sha(cfg: TrainConfig) -> str:
    files = weight_files(resolve_directory(cfg.base))
    return sha256_file(files[0])


def train_text_classifier(
    train: TextRows,
    valid: TextRows,
    task: str,
    out_dir: Path,
    cfg: TrainConfig,
    record: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fine-tune a sequence (or sequence-pair) classifier on labelled rows; save a delta.

    `record` is merged into the artifact's training record (data fingerprint, command).
    """
    _seed_everything(cfg.seed)
    labels = sorted({label for _, label in train})
    id2label = dict(enumerate(labels))
    if cfg.init_from:
        cfg, id2label = resumed_config(cfg, Path(cfg.init_from))
        new = sorted(set(labels) - set(id2label.values()))
        if new:
            raise ValueError(
                f"labels {new} are not labels of the model resumed from ({cfg.init_from}: "
                f"{list(id2label.values())}); train a new model for a new label set"
            )
        labels = [id2label[i] for i in sorted(id2label)]
    label2id = {v: k for k, v in id2label.items()}
    unknown = sorted({label for _, label in valid} - set(labels))
    if unknown:
        raise ValueError(f"labels {unknown} occur only in the validation rows")
    device = resolve_device(cfg.device)
    network, tokenizer = _prepare_network(cfg, task, id2label)
    if cfg.init_from:
        _load_previous(network, cfg)
    network.to(device)
    lengths = [len(str(text)) for text, _ in train]

    def encode(batch: list[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        enc = encode_texts(tokenizer, [train[i][0] for i in batch], cfg.max_length)
        y = torch.tensor([label2id[train[i][1]] for i in batch])
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}, y

    def evaluate() -> tuple[float, dict[str, Any]]:
        preds = predict_texts(
            network, tokenizer, [t for t, _ in valid], id2label, cfg.max_length, device
        )
        report = classification_report([g for _, g in valid], preds, labels)
        return report["macro_f1"], report

    report, curve, losses = _fit(
        network,
        cfg,
        len(train),
        lambda rng: _length_batches(lengths, cfg.batch_size, rng),
        encode,
        evaluate,
        device,
        class_weights([label for _, label in train], labels, cfg.class_weight),
    )
    return _save(
        out_dir,
        network,
        cfg,
        task,
        "sequence",
        id2label,
        (len(train), len(valid)),
        report,
        curve,
        losses,
        record,
    )


def _save(
    out_dir: Path,
    network: TaskNetwork,
    cfg: TrainConfig,
    task: str,
    kind: str,
    id2label: dict[int, str],
    rows: tuple[int, int],
    report: dict[str, Any],
    curve: list[Any],
    losses: list[Any],
    record: dict[str, Any] | None,
) -> dict[str, Any]:
    """Write the delta with everything needed to reproduce and judge it."""
    meta = DeltaMeta(
        task=task,
        kind=kind,
        base_source=cfg.base,
        base_sha256=_base_sha(cfg),
        id2label=id2label,
        lora_r=cfg.lora_r if cfg.method == "lora" else 0,
        lora_alpha=cfg.lora_alpha,
        casing=cfg.casing,
        max_length=cfg.max_length,
        training={
            "config": asdict(cfg),
            "train_rows": rows[0],
            "valid_rows": rows[1],
            "validation": _summary(report),
            "curve": curve,
            **(record or {}),
        },
    )
    network.to("cpu")
    save_delta(out_dir, network, meta)
    return {"validation": report, "curve": curve, "loss_curve": losses}


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "accuracy",
        "macro_f1",
        "precision",
        "recall",
        "f1",
        "per_type",
        "per_class",
        "train_seconds",
    )
    return {k: report[k] for k in keep if k in report}


def train_token_classifier(
    train: TokenRows,
    valid: TokenRows,
    out_dir: Path,
    cfg: TrainConfig,
    record: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fine-tune a BIO token classifier on (words, tags) rows and save a delta to `out_dir`."""
    _seed_everything(cfg.seed)
    types = sorted({tag[2:] for _, tags in train for tag in tags if tag != "O"})
    labels = ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]
    id2label = dict(enumerate(labels))
    if cfg.init_from:
        cfg, id2label = resumed_config(cfg, Path(cfg.init_from))
        labels = [id2label[i] for i in sorted(id2label)]
        types = sorted({tag[2:] for tag in labels if tag != "O"})
    label2id = {v: k for k, v in id2label.items()}
    bad = sorted({tag for _, tags in [*train, *valid] for tag in tags} - set(labels))
    if bad:
        raise ValueError(f"tags {bad} are not BIO tags of the training types {types}")
    device = resolve_device(cfg.device)
    network, tokenizer = _prepare_network(cfg, "ner", id2label)
    if cfg.init_from:
        _load_previous(network, cfg)
    network.to(device)
    lengths = [sum(len(w) + 1 for w in words) for words, _ in train]

    def encode(batch: list[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        inputs, word_ids = encode_words(tokenizer, [train[i][0] for i in batch], cfg.max_length)
        if not cfg.casing:
            inputs.pop("casing_ids")
        y = torch.tensor(
            [token_labels(train[i][1], w, label2id) for i, w in zip(batch, word_ids, strict=True)]
        )
        return inputs, y

    def evaluate() -> tuple[float, dict[str, Any]]:
        preds = predict_word_tags(
            network, tokenizer, [w for w, _ in valid], id2label, cfg.max_length, device
        )
        report = span_f1_report([t for _, t in valid], preds)
        return report["f1"], report

    report, curve, losses = _fit(
        network,
        cfg,
        len(train),
        lambda rng: _length_batches(lengths, cfg.batch_size, rng),
        encode,
        evaluate,
        device,
    )
    return _save(
        out_dir,
        network,
        cfg,
        "ner",
        "token",
        id2label,
        (len(train), len(valid)),
        report,
        curve,
        losses,
        record,
    )


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
