"""Fine-tuning front ends: LoRA on the encoder, a fully trained head, saved as a delta.

Sequence classification (sentiment, topics, aspect) and token classification
(NER) differ in how a batch is encoded and how a validation set is scored;
both hand those to the one loop in `training.loop` and save what it kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from textlens.server.runtime.artifacts import DeltaMeta, save_delta, sha256_file
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
from textlens.server.training.loop import class_weights, fit, length_batches, seed_everything
from textlens.server.training.predict import (
    encode_texts,
    encode_words,
    predict_probs,
    predict_texts,
    predict_word_tags,
    token_labels,
)
from textlens.server.training.scores import classification_report, span_f1_report
from textlens.server.training.train_config import TrainConfig

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

#: (text, label) rows; for the aspect task ((scoped text, aspect), label).
TextRows = Sequence[tuple[Any, str]]
TokenRows = Sequence[tuple[list[str], list[str]]]


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
    seed_everything(cfg.seed)
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

    report, curve, losses = fit(
        network,
        cfg,
        len(train),
        lambda rng: length_batches(lengths, cfg.batch_size, rng),
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
    seed_everything(cfg.seed)
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

    report, curve, losses = fit(
        network,
        cfg,
        len(train),
        lambda rng: length_batches(lengths, cfg.batch_size, rng),
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
